package porttest

import "testing"

// TestExportMemory_Contract keeps the export fake honest offline; the same
// suite runs against DynamoDB in internal/dynamostore.
func TestExportMemory_Contract(t *testing.T) {
	RunExportContract(t, func(t *testing.T) (ExportStores, ExportSeeder) {
		m := NewExportMemory()
		return m, m
	})
}
