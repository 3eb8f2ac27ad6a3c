package localstack

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
)

// PrepareEmulator works around a moto bug that multipart uploads (export
// archives) trigger: each uploaded part is kept as an object that belongs
// to no bucket, and the first read of any object's Glacier-restore status
// moves it to "restored" and looks its bucket up, which for a part fails.
// /moto-api/data.json reads every object's status, so after one multipart
// upload it fails (500) until every part has been read once: the tests and
// the local console read sent email there. Holding the restore status still
// (a manual transition that never comes) avoids it; this service restores
// nothing from Glacier, so no answer it gets changes. It is idempotent.
func PrepareEmulator(ctx context.Context, endpoint string) error {
	body := `{"model_name":"s3::keyrestore","transition":{"progression":"manual","times":1000000000}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(endpoint, "/")+"/moto-api/state-manager/set-transition", bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("prepare emulator: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("prepare emulator: set-transition answered %d", resp.StatusCode)
	}
	return nil
}

// SentEmailPath is where the emulator lists the email it recorded as sent
// (moto's ses RawMessage objects, under "ses" → "RawMessage"). moto's
// /moto-api/data.json lists every object it ever made, which by the end of
// a test run takes it seconds; the launcher (infra/moto/serve.py) keeps the
// listing to the service and model asked for, and moto without the
// launcher ignores the parameters and answers the whole listing, which
// holds the same part.
const SentEmailPath = "/moto-api/data.json?service=ses&model=RawMessage"
