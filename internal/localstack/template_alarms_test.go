package localstack

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wellness-rtbf/rtbf/internal/metrics"
)

// The alarms and the dashboard of template.yaml, read as CloudFormation
// reads them (cfnTree), against the metrics the functions emit: the
// metrics package's list, its namespace and its one dimension, which the
// functions that emit are given as STACK_NAME.

// ofType returns the template's resources of type typ, by logical id.
func ofType(t *testing.T, tmpl map[string]any, typ string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for id, r := range at(tmpl, "Resources").(map[string]any) {
		if at(r, "Type") == typ {
			out[id] = r
		}
	}
	return out
}

// alarmTopic is what every alarm notifies: the topic given, else the
// stack's own.
var alarmTopic = map[string]any{"Fn::If": []any{"HasAlarmTopic", map[string]any{"Ref": "AlarmTopicArn"}, map[string]any{"Ref": "AlarmTopic"}}}

// stackDimension is the one dimension of the functions' metrics, as an
// alarm names it.
var stackDimension = []any{map[string]any{"Name": metrics.Dimension, "Value": map[string]any{"Ref": "AWS::StackName"}}}

func metricNames() []string {
	var names []string
	for _, m := range metrics.All() {
		names = append(names, m.Name)
	}
	return names
}

// TestTemplateAlarms_Topic: every alarm notifies the topic; the stack makes
// its own unless given one, encrypted with a key of its own that lets
// CloudWatch publish (the AWS managed key of SNS cannot), and AlarmEmail
// subscribes an address to whichever the alarms notify.
func TestTemplateAlarms_Topic(t *testing.T) {
	tmpl := cfnTree(t)
	alarms := ofType(t, tmpl, "AWS::CloudWatch::Alarm")
	if len(alarms) == 0 {
		t.Fatal("template.yaml: got no AWS::CloudWatch::Alarm")
	}
	for id, a := range alarms {
		if got := at(a, "Properties", "AlarmActions"); !reflect.DeepEqual(got, []any{alarmTopic}) {
			t.Errorf("%s: AlarmActions: got %v, want [%v]", id, got, alarmTopic)
		}
	}
	if got, want := at(tmpl, "Conditions", "OwnAlarmTopic"), map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AlarmTopicArn"}, ""}}; !reflect.DeepEqual(got, want) {
		t.Errorf("OwnAlarmTopic: got %v, want %v", got, want)
	}
	if got, want := at(tmpl, "Conditions", "HasAlarmTopic"), map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AlarmTopicArn"}, ""}}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("HasAlarmTopic: got %v, want %v", got, want)
	}

	topic := at(tmpl, "Resources", "AlarmTopic")
	if at(topic, "Type") != "AWS::SNS::Topic" || at(topic, "Condition") != "OwnAlarmTopic" {
		t.Errorf("AlarmTopic: got %v, want an AWS::SNS::Topic under OwnAlarmTopic", topic)
	}
	if got := at(topic, "Properties", "KmsMasterKeyId"); !reflect.DeepEqual(got, map[string]any{"Ref": "AlarmTopicKey"}) {
		t.Errorf("AlarmTopic: KmsMasterKeyId: got %v, want !Ref AlarmTopicKey (alarms cannot publish to a topic under alias/aws/sns)", got)
	}
	key := at(tmpl, "Resources", "AlarmTopicKey")
	if at(key, "Type") != "AWS::KMS::Key" || at(key, "Condition") != "OwnAlarmTopic" || at(key, "Properties", "EnableKeyRotation") != "true" {
		t.Errorf("AlarmTopicKey: got %v, want a rotated AWS::KMS::Key under OwnAlarmTopic", key)
	}
	cloudwatch := false
	for _, s := range at(key, "Properties", "KeyPolicy", "Statement").([]any) {
		if at(s, "Principal", "Service") != "cloudwatch.amazonaws.com" {
			continue
		}
		actions := strs(at(s, "Action"))
		cloudwatch = at(s, "Effect") == "Allow" && at(s, "Condition") == nil &&
			slices.Contains(actions, "kms:Decrypt") && slices.Contains(actions, "kms:GenerateDataKey*")
	}
	if !cloudwatch {
		t.Error("AlarmTopicKey: got no statement letting cloudwatch.amazonaws.com use the key (kms:Decrypt, kms:GenerateDataKey*), unconditioned")
	}

	sub := at(tmpl, "Resources", "AlarmEmailSubscription")
	if at(sub, "Condition") != "HasAlarmEmail" || at(sub, "Properties", "Protocol") != "email" ||
		!reflect.DeepEqual(at(sub, "Properties", "Endpoint"), map[string]any{"Ref": "AlarmEmail"}) ||
		!reflect.DeepEqual(at(sub, "Properties", "TopicArn"), alarmTopic) {
		t.Errorf("AlarmEmailSubscription: got %v, want AlarmEmail subscribed by email to %v under HasAlarmEmail", sub, alarmTopic)
	}
	if at(tmpl, "Parameters", "AlarmEmail", "Default") != "" {
		t.Error("AlarmEmail: got a default, want empty (no subscription)")
	}
	if got := at(tmpl, "Outputs", "AlarmTopic", "Value"); !reflect.DeepEqual(got, alarmTopic) {
		t.Errorf("output AlarmTopic: got %v, want %v", got, alarmTopic)
	}
}

// TestTemplateAlarms_Metrics: an alarm on the functions' metrics names
// one of them, in their namespace, with their one dimension; the overdue
// requests, the requests needing attention and the sweep's silence each
// have theirs.
func TestTemplateAlarms_Metrics(t *testing.T) {
	tmpl := cfnTree(t)
	type alarm struct{ metric, stat, op, threshold, missing string }
	got := map[string]alarm{}
	for id, a := range ofType(t, tmpl, "AWS::CloudWatch::Alarm") {
		p := at(a, "Properties")
		if at(p, "Namespace") != metrics.Namespace {
			continue
		}
		name, _ := at(p, "MetricName").(string)
		if !slices.Contains(metricNames(), name) {
			t.Errorf("%s: metric %q is none the functions emit (internal/metrics: %v)", id, name, metricNames())
		}
		if d := at(p, "Dimensions"); !reflect.DeepEqual(d, stackDimension) {
			t.Errorf("%s: Dimensions: got %v, want %v (what the functions emit)", id, d, stackDimension)
		}
		got[id] = alarm{name, render(at(p, "Statistic")), render(at(p, "ComparisonOperator")), render(at(p, "Threshold")), render(at(p, "TreatMissingData"))}
	}
	for id, want := range map[string]alarm{
		"OverdueRequestsAlarm": {metrics.OverdueRequests.Name, "Maximum", "GreaterThanThreshold", "0", "notBreaching"},
		"NeedsAttentionAlarm":  {metrics.NeedsAttention.Name, "Maximum", "GreaterThanThreshold", "0", "notBreaching"},
		// No report from the sweep is an alarm, not an all-clear.
		"SweepSilentAlarm": {metrics.OverdueRequests.Name, "SampleCount", "LessThanThreshold", "1", "breaching"},
	} {
		if got[id] != want {
			t.Errorf("%s: got %+v, want %+v", id, got[id], want)
		}
	}
}

// TestTemplateAlarms_Functions: every function's errors alarm, and the
// dead-letter queue's.
func TestTemplateAlarms_Functions(t *testing.T) {
	tmpl := cfnTree(t)
	alarms := ofType(t, tmpl, "AWS::CloudWatch::Alarm")
	errorsOf := map[string]string{}
	for id, a := range alarms {
		p := at(a, "Properties")
		if at(p, "Namespace") != "AWS/Lambda" || at(p, "MetricName") != "Errors" {
			continue
		}
		d, _ := at(p, "Dimensions").([]any)
		if len(d) != 1 || at(d[0], "Name") != "FunctionName" {
			t.Errorf("%s: Dimensions: got %v, want FunctionName alone", id, d)
			continue
		}
		fn := render(at(d[0], "Value"))
		errorsOf[strings.Trim(fn, "${}")] = id
		if at(p, "TreatMissingData") != "notBreaching" || at(p, "ComparisonOperator") != "GreaterThanThreshold" || at(p, "Threshold") != "0" {
			t.Errorf("%s: got %v, want any error to alarm and no data not to", id, p)
		}
	}
	for _, fn := range functions(t, tmpl) {
		if errorsOf[fn] == "" {
			t.Errorf("%s: got no alarm on its AWS/Lambda Errors", fn)
		}
	}
	dlq := at(alarms["ScheduleDeadLetterAlarm"], "Properties")
	d, _ := at(dlq, "Dimensions").([]any)
	if at(dlq, "Namespace") != "AWS/SQS" || len(d) != 1 || render(at(d[0], "Value")) != "${ScheduleDeadLetterQueue.QueueName}" {
		t.Errorf("ScheduleDeadLetterAlarm: got %v, want the dead-letter queue's depth", dlq)
	}
}

// subRef is a ${…} reference of a !Sub string.
var subRef = regexp.MustCompile(`\$\{([^}!]+)\}`)

// TestTemplateDashboard: the dashboard's body is JSON once !Sub fills it;
// it shows every metric the functions emit (in their namespace, with
// their dimension), every alarm's state, every function's errors; each
// reference it makes is to the template.
func TestTemplateDashboard(t *testing.T) {
	tmpl := cfnTree(t)
	body, ok := at(tmpl, "Resources", "Dashboard", "Properties", "DashboardBody", "Fn::Sub").(string)
	if at(tmpl, "Resources", "Dashboard", "Type") != "AWS::CloudWatch::Dashboard" || !ok {
		t.Fatal("Dashboard: got no AWS::CloudWatch::Dashboard whose DashboardBody is a !Sub string")
	}
	resources := at(tmpl, "Resources").(map[string]any)
	for _, m := range subRef.FindAllStringSubmatch(body, -1) {
		ref, attr, _ := strings.Cut(m[1], ".")
		if _, ok := resources[ref]; !ok && !strings.HasPrefix(ref, "AWS::") {
			t.Errorf("dashboard: ${%s} names nothing of the template", m[1])
		}
		if attr != "" && attr != "Arn" && attr != "QueueName" {
			t.Errorf("dashboard: ${%s}: an attribute not read here", m[1])
		}
	}
	var doc struct {
		Widgets []struct {
			Type       string `json:"type"`
			Properties struct {
				Metrics [][]any  `json:"metrics"`
				Alarms  []string `json:"alarms"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("dashboard: got a body that is not JSON: %v", err)
	}
	shown := map[string]bool{}
	var alarms []string
	for _, w := range doc.Widgets {
		alarms = append(alarms, w.Properties.Alarms...)
		for _, row := range w.Properties.Metrics {
			var s []string
			for _, x := range row {
				if str, ok := x.(string); ok {
					s = append(s, str)
				}
			}
			if len(s) < 2 {
				t.Errorf("dashboard: metric %v: got no namespace and name", row)
				continue
			}
			if s[0] == metrics.Namespace {
				if !slices.Equal(s[2:], []string{metrics.Dimension, "${AWS::StackName}"}) {
					t.Errorf("dashboard: metric %v: got dimensions %v, want %s=${AWS::StackName} alone", row, s[2:], metrics.Dimension)
				}
				if !slices.Contains(metricNames(), s[1]) {
					t.Errorf("dashboard: metric %v: none the functions emit", row)
				}
			}
			shown[strings.Join(s, " ")] = true
		}
	}
	for _, name := range metricNames() {
		if !shown[metrics.Namespace+" "+name+" "+metrics.Dimension+" ${AWS::StackName}"] {
			t.Errorf("dashboard: got no graph of %s", name)
		}
	}
	for _, fn := range functions(t, tmpl) {
		if !shown["AWS/Lambda Errors FunctionName ${"+fn+"}"] {
			t.Errorf("dashboard: got no graph of %s's errors", fn)
		}
	}
	var want []string
	for id := range ofType(t, tmpl, "AWS::CloudWatch::Alarm") {
		want = append(want, "${"+id+".Arn}")
	}
	slices.Sort(want)
	slices.Sort(alarms)
	if !slices.Equal(alarms, want) {
		t.Errorf("dashboard: alarms: got %v, want every alarm's %v", alarms, want)
	}
}

// TestTemplateMetrics_Code: every metric of the list is emitted by a
// function (a handler refers to it), and a function whose package emits
// metrics is given the stack's name, which the alarms and the dashboard
// take for the dimension.
func TestTemplateMetrics_Code(t *testing.T) {
	root := repoRoot(t)
	const pkg = `"github.com/wellness-rtbf/rtbf/internal/metrics"`
	emitted := map[string]bool{}
	for _, f := range functionsOf(t) {
		files, err := filepath.Glob(filepath.Join(root, f.FunctionDir(), "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		imports := false
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			name := ""
			for _, imp := range file.Imports {
				if imp.Path.Value == pkg {
					imports = true
					name = "metrics"
					if imp.Name != nil {
						name = imp.Name.Name
					}
				}
			}
			if name == "" {
				continue
			}
			ast.Inspect(file, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == name {
						emitted[sel.Sel.Name] = true
					}
				}
				return true
			})
		}
		if !imports {
			continue
		}
		stack := ""
		for _, e := range f.Env {
			if e.Name == "STACK_NAME" {
				stack = e.Value.String()
			}
		}
		if stack != "!Ref AWS::StackName" {
			t.Errorf("%s: emits metrics, got STACK_NAME %s, want !Ref AWS::StackName (the alarms' dimension)", f.LogicalID, strconv.Quote(stack))
		}
	}
	for _, name := range metricNames() {
		if !emitted[name] {
			t.Errorf("metrics.%s: emitted by no function (or not under its own name)", name)
		}
	}
}
