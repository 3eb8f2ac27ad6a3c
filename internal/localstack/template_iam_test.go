package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"gopkg.in/yaml.v3"

	"github.com/wellness-rtbf/rtbf/internal/dynamostore"
	"github.com/wellness-rtbf/rtbf/internal/erasure"
)

// The IAM of template.yaml, read as CloudFormation reads it: each function
// may touch only the table partitions, schedules and objects its code
// uses, and each schedule's role invokes only its one target.

// cfnTree is template.yaml as plain values (maps, lists, strings), each
// CloudFormation short tag in its long form: !Ref X is {"Ref": "X"},
// !GetAtt X.Arn {"Fn::GetAtt": "X.Arn"}, !Sub s {"Fn::Sub": s}, …
func cfnTree(t *testing.T) map[string]any {
	t.Helper()
	path, err := TemplatePath()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parse %s: got error %v, want nil", path, err)
	}
	m, ok := cfnValue(&doc).(map[string]any)
	if !ok {
		t.Fatalf("%s: got no mapping at the top", path)
	}
	return m
}

func cfnValue(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return cfnValue(n.Content[0])
	case yaml.AliasNode:
		return cfnValue(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = cfnValue(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			l[i] = cfnValue(c)
		}
		v = l
	default:
		v = n.Value
	}
	if tag, ok := strings.CutPrefix(n.Tag, "!"); ok && !strings.HasPrefix(tag, "!") {
		if tag != "Ref" && tag != "Condition" {
			tag = "Fn::" + tag
		}
		return map[string]any{tag: v}
	}
	return v
}

// at walks v along keys (map keys); nil when a key is missing.
func at(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// strs is a value or a list of values as a list of strings (render).
func strs(v any) []string {
	switch v := v.(type) {
	case nil:
		return nil
	case string, map[string]any:
		return []string{render(v)}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			out = append(out, render(x))
		}
		return out
	}
	return nil
}

// render writes a value as one string, intrinsics as ${…} references, so
// that !GetAtt Table.Arn and !Sub ${Table.Arn} read the same.
func render(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if len(v) == 1 {
			switch {
			case v["Fn::GetAtt"] != nil:
				return "${" + render(v["Fn::GetAtt"]) + "}"
			case v["Ref"] != nil:
				return "${" + render(v["Ref"]) + "}"
			case v["Fn::Sub"] != nil:
				return render(v["Fn::Sub"])
			}
		}
	}
	return fmt.Sprint(v)
}

type statement struct {
	fn        string
	sid       string
	actions   []string
	resources []string
	cond      map[string]any
}

// condValues is the statement's values of operator/key ("" when none).
func (s statement) condValues(operator, key string) []string {
	return strs(at(s.cond, operator, key))
}

// functions returns the logical ids of the template's functions.
func functions(t *testing.T, tmpl map[string]any) []string {
	t.Helper()
	var out []string
	for name, r := range at(tmpl, "Resources").(map[string]any) {
		if at(r, "Type") == "AWS::Serverless::Function" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		t.Fatal("template.yaml: got no function")
	}
	return out
}

// policyStatements returns the statements of a policy document list (a
// function's Policies, a role's Policies[].PolicyDocument).
func policyStatements(t *testing.T, fn string, docs any) []statement {
	t.Helper()
	var out []statement
	list, _ := docs.([]any)
	for _, d := range list {
		if pd := at(d, "PolicyDocument"); pd != nil {
			d = pd
		}
		st, ok := at(d, "Statement").([]any)
		if !ok {
			t.Fatalf("%s: got policy %v, want an inline policy document", fn, d)
		}
		for _, s := range st {
			if e := at(s, "Effect"); e != "Allow" {
				t.Fatalf("%s: got a statement with Effect %v, want Allow", fn, e)
			}
			cond, _ := at(s, "Condition").(map[string]any)
			out = append(out, statement{
				fn: fn, sid: render(at(s, "Sid")), actions: strs(at(s, "Action")),
				resources: strs(at(s, "Resource")), cond: cond,
			})
		}
	}
	return out
}

func functionStatements(t *testing.T, tmpl map[string]any, fn string) []statement {
	t.Helper()
	return policyStatements(t, fn, at(tmpl, "Resources", fn, "Properties", "Policies"))
}

// practicePartition is how a grant on a practice's own partition reads:
// LeadingKeys "PRACTICE#*" together with not "PRACTICE#*#*".
const practicePartition = "PRACTICE#<p>"

// tableGrants expands a function's DynamoDB statements into
// "<action> <where> <partition>" (where is "table" or "index/<name>"); a
// statement without LeadingKeys grants on "(any partition)".
func tableGrants(t *testing.T, sts []statement) []string {
	t.Helper()
	var out []string
	for _, s := range sts {
		if !slices.ContainsFunc(s.actions, func(a string) bool { return strings.HasPrefix(a, "dynamodb:") }) {
			continue
		}
		keys := s.condValues("ForAllValues:StringLike", "dynamodb:LeadingKeys")
		not := s.condValues("ForAllValues:StringNotLike", "dynamodb:LeadingKeys")
		if len(keys) == 0 {
			keys = []string{"(any partition)"}
		}
		if i := slices.Index(keys, "PRACTICE#*"); i >= 0 && slices.Equal(not, []string{"PRACTICE#*#*"}) {
			if len(keys) > 1 {
				t.Errorf("%s %s: got LeadingKeys %v with not %v, which excludes the others; want the practice's partition alone", s.fn, s.sid, keys, not)
			}
			keys[i] = practicePartition
		} else if len(not) > 0 {
			t.Errorf("%s %s: got LeadingKeys not like %v, want only PRACTICE#*#* beside PRACTICE#*", s.fn, s.sid, not)
		}
		for _, a := range s.actions {
			for _, r := range s.resources {
				where, ok := strings.CutPrefix(r, "${Table.Arn}")
				switch {
				case ok && where == "":
					where = "table"
				case ok && strings.HasPrefix(where, "/index/"):
					where = strings.TrimPrefix(where, "/")
				default:
					where = r
				}
				for _, k := range keys {
					out = append(out, a+" "+where+" "+k)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// restoredTable is the ARN pattern of the tables a restore makes: the
// stack's name, then RestoreTablePrefix.
const restoredTable = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${AWS::StackName}-${RestoreTablePrefix}*"

// wantTableAccess is what each function's code reads and writes
// (functions/<name>/main.go wires the internal/dynamostore methods it
// uses), by partition: for each, its actions without the "dynamodb:".
var wantTableAccess = map[string][][2]string{
	"SettingsFunction": {
		// The setting, and the caller check (practice, practitioner).
		{"table " + practicePartition, "GetItem BatchGetItem PutItem"},
	},
	"DeletionRequestFunction": {
		{"table " + practicePartition, "GetItem BatchGetItem"},
		{"table PRACTICE#*#CLIENT#*", "GetItem Query PutItem DeleteItem ConditionCheckItem"},
		{"table PRACTICE#*#CHAT#*", "BatchGetItem Query"},
		{"table PRACTICE#*#PRACTITIONER#*", "PutItem"},
		{"table DELETION#*", "GetItem PutItem UpdateItem DeleteItem"},
	},
	"NotificationsFunction": {
		{"table " + practicePartition, "BatchGetItem"},
		{"index/inbox PRACTICE#*#PRACTITIONER#*", "Query"},
		{"table PRACTICE#*#PRACTITIONER#*", "UpdateItem"},
	},
	"PracticeRequestsFunction": {
		{"table " + practicePartition, "BatchGetItem"},
		{"index/practice PRACTICE#*#DELETIONS", "Query"},
		{"table DELETION#*", "GetItem"},
	},
	"PurgeFunction": {
		{"table " + practicePartition, "GetItem BatchGetItem"},
		{"table PRACTICE#*#CLIENT#*", "GetItem Query BatchGetItem BatchWriteItem PutItem DeleteItem"},
		{"table PRACTICE#*#CHAT#*", "Query BatchGetItem BatchWriteItem"},
		{"table PRACTICE#*#PRACTITIONER#*", "PutItem"},
		{"table DELETION#*", "GetItem UpdateItem DeleteItem"},
		{"index/pending PENDING", "Query"},
	},
	"ExportsFunction": {
		{"table " + practicePartition, "BatchGetItem"},
		// The export request's checks, one batch across the practice's
		// partitions (keys and bookkeeping attributes only).
		{"table PRACTICE#*", "BatchGetItem"},
		// The profile and the active-export pointer; the quota; the record.
		{"table PRACTICE#*#CLIENT#*", "GetItem PutItem UpdateItem ConditionCheckItem DeleteItem"},
		{"table PRACTICE#*#PRACTITIONER#*", "GetItem PutItem UpdateItem ConditionCheckItem DeleteItem"},
		{"table EXPORT#*", "GetItem PutItem UpdateItem ConditionCheckItem DeleteItem"},
	},
	// The replay reads and deletes the clients' content, as the purge
	// does, and closes their portals, in a restored table (named after the
	// stack and RestoreTablePrefix) or, told so, the live one; nothing
	// else.
	"ReplayFunction": {
		{"table PRACTICE#*#CLIENT#*", "Query BatchGetItem BatchWriteItem"},
		{"table PRACTICE#*#CHAT#*", "Query BatchGetItem BatchWriteItem"},
		{restoredTable + " PRACTICE#*#CLIENT#*", "Query BatchGetItem BatchWriteItem"},
		{restoredTable + " PRACTICE#*#CHAT#*", "Query BatchGetItem BatchWriteItem"},
		{"table PRACTICE#*#CLIENT#*", "PutItem"},
		{restoredTable + " PRACTICE#*#CLIENT#*", "PutItem"},
	},
	"ExportWorkerFunction": {
		{"table EXPORT#*", "GetItem UpdateItem"},
		{"table PRACTICE#*#CLIENT#*", "Query"},
		{"table PRACTICE#*#CHAT#*", "Query BatchGetItem"},
	},
}

// Every DynamoDB statement of every function names its partitions, and
// together they grant exactly what the function's code uses.
func TestTemplateIAM_TableAccess(t *testing.T) {
	tmpl := cfnTree(t)
	fns := functions(t, tmpl)
	for _, fn := range fns {
		if _, ok := wantTableAccess[fn]; !ok {
			t.Errorf("%s: got a function with no expected table access, want one in wantTableAccess", fn)
		}
	}
	for fn, want := range wantTableAccess {
		t.Run(fn, func(t *testing.T) {
			if !slices.Contains(fns, fn) {
				t.Fatalf("got no function %s in template.yaml", fn)
			}
			sts := functionStatements(t, tmpl, fn)
			for _, s := range sts {
				for _, a := range s.actions {
					if strings.HasPrefix(a, "dynamodb:") && len(s.condValues("ForAllValues:StringLike", "dynamodb:LeadingKeys")) == 0 {
						t.Errorf("%s: got %s without a dynamodb:LeadingKeys condition (ForAllValues:StringLike)", s.sid, a)
					}
				}
			}
			var wantGrants []string
			for _, w := range want {
				where, partition, _ := strings.Cut(w[0], " ")
				for _, a := range strings.Fields(w[1]) {
					wantGrants = append(wantGrants, "dynamodb:"+a+" "+where+" "+partition)
				}
			}
			slices.Sort(wantGrants)
			got := tableGrants(t, sts)
			for _, g := range got {
				if !slices.Contains(wantGrants, g) {
					t.Errorf("got grant %q, want none such", g)
				}
			}
			for _, w := range wantGrants {
				if !slices.Contains(got, w) {
					t.Errorf("got no grant %q, want one", w)
				}
			}
		})
	}
}

// A batch of the purge's deletes (or of the reads that check them) holds a
// client's items and its chats' items at once: one statement must allow
// each batch action on both partitions.
func TestTemplateIAM_PurgeBatchesSpanClientAndChats(t *testing.T) {
	sts := functionStatements(t, cfnTree(t), "PurgeFunction")
	for _, action := range []string{"dynamodb:BatchWriteItem", "dynamodb:BatchGetItem"} {
		ok := slices.ContainsFunc(sts, func(s statement) bool {
			keys := s.condValues("ForAllValues:StringLike", "dynamodb:LeadingKeys")
			return slices.Contains(s.actions, action) &&
				slices.Contains(keys, "PRACTICE#*#CLIENT#*") && slices.Contains(keys, "PRACTICE#*#CHAT#*")
		})
		if !ok {
			t.Errorf("%s: got no statement allowing it on client and chat partitions together, want one", action)
		}
	}
}

// The settings function reads and writes only the setting's attributes
// (and reads the practice's ownerId), as AWS documents attribute-level
// policies: dynamodb:Attributes, Select SPECIFIC_ATTRIBUTES, ReturnValues
// NONE.
func TestTemplateIAM_SettingsAttributes(t *testing.T) {
	read := []string{"pk", "sk", "enabled", "updatedAt", "updatedBy", "ownerId", "practitionerId"}
	sts := functionStatements(t, cfnTree(t), "SettingsFunction")
	reads := false
	for _, s := range sts {
		attrs := s.condValues("ForAllValues:StringEquals", "dynamodb:Attributes")
		if len(attrs) == 0 {
			t.Errorf("%s: got no dynamodb:Attributes condition, want one", s.sid)
		}
		for _, a := range attrs {
			if !slices.Contains(read, a) {
				t.Errorf("%s: got attribute %q, want only %v", s.sid, a, read)
			}
		}
		if got := s.condValues("StringEqualsIfExists", "dynamodb:Select"); !slices.Equal(got, []string{"SPECIFIC_ATTRIBUTES"}) {
			t.Errorf("%s: got dynamodb:Select %v, want SPECIFIC_ATTRIBUTES (IfExists)", s.sid, got)
		}
		if got := s.condValues("StringEqualsIfExists", "dynamodb:ReturnValues"); !slices.Equal(got, []string{"NONE"}) {
			t.Errorf("%s: got dynamodb:ReturnValues %v, want NONE (IfExists)", s.sid, got)
		}
		writes := slices.ContainsFunc(s.actions, func(a string) bool { return !strings.Contains(a, "Get") })
		if writes && slices.Contains(attrs, "ownerId") {
			t.Errorf("%s: got writes (%v) that may set ownerId, want ownerId readable only", s.sid, s.actions)
		}
		if slices.Contains(s.actions, "dynamodb:GetItem") {
			reads = true
			got := slices.Sorted(slices.Values(attrs))
			if want := slices.Sorted(slices.Values(read)); !slices.Equal(got, want) {
				t.Errorf("%s: got read attributes %v, want %v", s.sid, got, want)
			}
		}
	}
	if !reads {
		t.Error("got no statement that reads the setting, want one")
	}
}

// scheduleARN is a schedule of the stack's group, as the policies write it.
func scheduleARN(name string) string {
	return "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${ScheduleGroup}/" + name
}

// like reports whether s matches an IAM pattern (* any run, ? one
// character).
func like(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if like(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && like(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && like(pattern[1:], s[1:])
}

// sweep returns the hourly sweep schedule's event properties.
func sweep(t *testing.T, tmpl map[string]any) map[string]any {
	t.Helper()
	for _, ev := range at(tmpl, "Resources", "PurgeFunction", "Properties", "Events").(map[string]any) {
		if at(ev, "Type") == "ScheduleV2" {
			return at(ev, "Properties").(map[string]any)
		}
	}
	t.Fatal("PurgeFunction: got no ScheduleV2 event (the hourly sweep), want one")
	return nil
}

// The deletion request and the purge make purge schedules only, the
// exports function export schedules only; none can touch the hourly sweep.
func TestTemplateIAM_Schedules(t *testing.T) {
	tmpl := cfnTree(t)
	want := map[string][]string{
		"DeletionRequestFunction": {"scheduler:CreateSchedule " + scheduleARN("rtbf-purge-*"), "scheduler:DeleteSchedule " + scheduleARN("rtbf-purge-*")},
		"PurgeFunction":           {"scheduler:CreateSchedule " + scheduleARN("rtbf-purge-*")},
		"ExportsFunction":         {"scheduler:CreateSchedule " + scheduleARN("rtbf-export-*")},
	}
	sw := sweep(t, tmpl)
	name := render(sw["Name"])
	if g := render(sw["GroupName"]); g != "${ScheduleGroup}" {
		t.Errorf("sweep: got group %q, want the stack's ScheduleGroup", g)
	}
	for _, fn := range functions(t, tmpl) {
		var got []string
		for _, s := range functionStatements(t, tmpl, fn) {
			for _, a := range s.actions {
				if !strings.HasPrefix(a, "scheduler:") {
					continue
				}
				for _, r := range s.resources {
					got = append(got, a+" "+r)
					if like(r, scheduleARN(name)) {
						t.Errorf("%s %s: got %s on %s, which covers the hourly sweep %q", fn, s.sid, a, r, name)
					}
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want[fn]) {
			t.Errorf("%s: got scheduler grants %v, want %v", fn, got, want[fn])
		}
	}
	for _, p := range []string{"rtbf-purge-*", "rtbf-export-*"} {
		if like(p, name) {
			t.Errorf("sweep: got name %q, which %s matches", name, p)
		}
	}
}

// Each schedule target has its own role, trusted by Scheduler only for
// this account's schedule group, invoking that one function; each function
// passes only the role of its schedules' target, and names it in
// SCHEDULER_ROLE_ARN.
func TestTemplateIAM_SchedulerRoles(t *testing.T) {
	tmpl := cfnTree(t)
	resources := at(tmpl, "Resources").(map[string]any)
	roleOf := map[string]string{} // target function -> role's ARN as the policies write it
	for name, r := range resources {
		if at(r, "Type") != "AWS::IAM::Role" {
			continue
		}
		trust := at(r, "Properties", "AssumeRolePolicyDocument", "Statement").([]any)
		if len(trust) != 1 || !slices.Equal(strs(at(trust[0], "Principal", "Service")), []string{"scheduler.amazonaws.com"}) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			cond := at(trust[0], "Condition", "StringEquals")
			if got := render(at(cond, "aws:SourceAccount")); got != "${AWS::AccountId}" {
				t.Errorf("trust: got aws:SourceAccount %q, want the stack's account", got)
			}
			if got := render(at(cond, "aws:SourceArn")); got != "${ScheduleGroup.Arn}" {
				t.Errorf("trust: got aws:SourceArn %q, want the schedule group's ARN", got)
			}
			var targets []string
			for _, s := range policyStatements(t, name, at(r, "Properties", "Policies")) {
				for _, a := range s.actions {
					switch a {
					case "lambda:InvokeFunction":
						targets = append(targets, s.resources...)
					case "sqs:SendMessage":
						if !slices.Equal(s.resources, []string{"${ScheduleDeadLetterQueue.Arn}"}) {
							t.Errorf("%s: got %s on %v, want the dead-letter queue only", s.sid, a, s.resources)
						}
					default:
						t.Errorf("%s: got %s, want only lambda:InvokeFunction and sqs:SendMessage", s.sid, a)
					}
				}
			}
			if len(targets) != 1 {
				t.Fatalf("got InvokeFunction on %v, want exactly one function", targets)
			}
			fn := strings.TrimSuffix(strings.TrimPrefix(targets[0], "${"), ".Arn}")
			if _, dup := roleOf[fn]; dup {
				t.Errorf("got a second role invoking %s, want one per target", fn)
			}
			arn := "${" + name + ".Arn}"
			if rn := at(r, "Properties", "RoleName"); rn != nil {
				// A named role is passed by its ARN built from the name.
				roleOf[fn+" by name"] = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/" + render(rn)
			}
			roleOf[fn] = arn
		})
	}
	if got := render(sweep(t, tmpl)["RoleArn"]); got != roleOf["PurgeFunction"] {
		t.Errorf("sweep: got role %q, want the purge's %q", got, roleOf["PurgeFunction"])
	}
	// Which target each scheduling function's schedules invoke.
	for fn, target := range map[string]string{
		"DeletionRequestFunction": "PurgeFunction",
		"PurgeFunction":           "PurgeFunction",
		"ExportsFunction":         "ExportWorkerFunction",
	} {
		want := []string{roleOf[target]}
		if fn == target {
			// The purge names its own role by name: referring to it
			// would be a cycle (the role refers to the function).
			want = []string{roleOf[target+" by name"]}
		}
		if want[0] == "" {
			t.Errorf("%s: got no scheduler role invoking %s, want one", fn, target)
			continue
		}
		var passed []string
		for _, s := range functionStatements(t, tmpl, fn) {
			if slices.Contains(s.actions, "iam:PassRole") {
				passed = append(passed, s.resources...)
				if got := s.condValues("StringEquals", "iam:PassedToService"); !slices.Equal(got, []string{"scheduler.amazonaws.com"}) {
					t.Errorf("%s %s: got iam:PassedToService %v, want scheduler.amazonaws.com", fn, s.sid, got)
				}
			}
		}
		if !slices.Equal(passed, want) {
			t.Errorf("%s: got iam:PassRole on %v, want %v", fn, passed, want)
		}
		if got := render(at(tmpl, "Resources", fn, "Properties", "Environment", "Variables", "SCHEDULER_ROLE_ARN")); got != want[0] {
			t.Errorf("%s: got SCHEDULER_ROLE_ARN %q, want %q", fn, got, want[0])
		}
	}
	for _, fn := range []string{"SettingsFunction", "NotificationsFunction", "PracticeRequestsFunction", "ExportWorkerFunction"} {
		for _, s := range functionStatements(t, tmpl, fn) {
			if slices.Contains(s.actions, "iam:PassRole") {
				t.Errorf("%s %s: got iam:PassRole, want none", fn, s.sid)
			}
		}
	}
}

// The documents bucket's keys are practices/<practiceId>/clients/…: the
// purge (and the replay after a restore) deletes and the export worker
// reads under practices/ only, and nothing else touches the bucket's
// objects.
func TestTemplateIAM_DocumentObjects(t *testing.T) {
	tmpl := cfnTree(t)
	want := map[string][]string{
		"PurgeFunction":        {"s3:DeleteObject ${DocumentsBucket.Arn}/practices/*"},
		"ReplayFunction":       {"s3:DeleteObject ${DocumentsBucket.Arn}/practices/*"},
		"ExportWorkerFunction": {"s3:GetObject ${DocumentsBucket.Arn}/practices/*"},
	}
	for _, fn := range functions(t, tmpl) {
		var got []string
		for _, s := range functionStatements(t, tmpl, fn) {
			for _, r := range s.resources {
				if !strings.HasPrefix(r, "${DocumentsBucket.Arn}") {
					continue
				}
				for _, a := range s.actions {
					got = append(got, a+" "+r)
				}
			}
		}
		if !slices.Equal(got, want[fn]) {
			t.Errorf("%s: got %v on the documents bucket, want %v", fn, got, want[fn])
		}
	}
}

// The purge and the export worker have reserved concurrency from a stack
// parameter, with 0 meaning none.
func TestTemplateIAM_ReservedConcurrency(t *testing.T) {
	tmpl := cfnTree(t)
	for fn, param := range map[string]string{
		"PurgeFunction":        "PurgeReservedConcurrency",
		"ExportWorkerFunction": "ExportWorkerReservedConcurrency",
	} {
		p := at(tmpl, "Parameters", param)
		if at(p, "Type") != "Number" || at(p, "MinValue") != "0" || at(p, "Default") == nil || at(p, "Default") == "0" {
			t.Errorf("parameter %s: got %v, want a Number, MinValue 0, a default above 0", param, p)
		}
		rc, _ := at(tmpl, "Resources", fn, "Properties", "ReservedConcurrentExecutions", "Fn::If").([]any)
		if len(rc) != 3 || render(rc[1]) != "${"+param+"}" || render(rc[2]) != "${AWS::NoValue}" {
			t.Errorf("%s: got ReservedConcurrentExecutions %v, want !If [<condition>, !Ref %s, !Ref AWS::NoValue]", fn, rc, param)
			continue
		}
		cond := at(tmpl, "Conditions", render(rc[0]))
		eq, _ := at(cond, "Fn::Not").([]any)
		if len(eq) != 1 || fmt.Sprint(at(eq[0], "Fn::Equals")) != fmt.Sprint([]any{map[string]any{"Ref": param}, "0"}) {
			t.Errorf("%s: got condition %s = %v, want !Not [!Equals [!Ref %s, \"0\"]]", fn, render(rc[0]), cond, param)
		}
	}
}

// A browser script reads Location (where a new export is) and Retry-After.
func TestTemplateIAM_CORSExposesHeaders(t *testing.T) {
	got := strs(at(cfnTree(t), "Resources", "HttpApi", "Properties", "CorsConfiguration", "ExposeHeaders"))
	for _, h := range []string{"Location", "Retry-After"} {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.EqualFold(g, h) }) {
			t.Errorf("ExposeHeaders: got %v, want %s among them", got, h)
		}
	}
}

// recorder answers every DynamoDB call with an empty result and keeps each
// request's target and JSON body.
type recorder struct{ calls []map[string]any }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body map[string]any
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		return nil, err
	}
	body["X-Amz-Target"] = req.Header.Get("X-Amz-Target")
	r.calls = append(r.calls, body)
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body:       io.NopCloser(strings.NewReader("{}")),
		Request:    req,
	}, nil
}

// projected returns the attribute names of a projection expression.
func projected(expr string, names map[string]any) []string {
	var out []string
	for _, p := range strings.Split(expr, ",") {
		p = strings.TrimSpace(p)
		if n, ok := names[p].(string); ok {
			p = n
		}
		out = append(out, p)
	}
	return out
}

// The settings function's store calls stay within its policy's attributes:
// GetSetting projects only attributes the read statement names (a read
// without a projection asks for all and is refused), and PutSetting writes
// only attributes the write statement names.
func TestTemplateIAM_SettingsStoreWithinPolicy(t *testing.T) {
	allowed := map[string][]string{} // action -> attributes
	for _, s := range functionStatements(t, cfnTree(t), "SettingsFunction") {
		for _, a := range s.actions {
			allowed[a] = s.condValues("ForAllValues:StringEquals", "dynamodb:Attributes")
		}
	}
	rec := &recorder{}
	db := dynamodb.New(dynamodb.Options{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
		HTTPClient:   &http.Client{Transport: rec},
	})
	store := dynamostore.New(db, "t")
	ctx := context.Background()
	// The caller checks first: each a BatchGetItem of the practice's
	// partition, projected.
	if _, _, err := store.GetSettingAs(ctx, "p1", "pr-owner"); err == nil {
		t.Fatal("GetSettingAs: got no error from an empty answer, want not found")
	}
	if _, err := store.Member(ctx, "p1", "pr-owner"); err == nil {
		t.Fatal("Member: got no error from an empty answer, want not found")
	}
	for _, call := range rec.calls {
		if target := call["X-Amz-Target"]; target != "DynamoDB_20120810.BatchGetItem" {
			t.Fatalf("caller check: got call %v, want BatchGetItem", target)
		}
		for _, ka := range call["RequestItems"].(map[string]any) {
			ka := ka.(map[string]any)
			expr, _ := ka["ProjectionExpression"].(string)
			names, _ := ka["ExpressionAttributeNames"].(map[string]any)
			if expr == "" {
				t.Error("caller check: got no ProjectionExpression, want one within the policy")
			}
			for _, a := range projected(expr, names) {
				if !slices.Contains(allowed["dynamodb:BatchGetItem"], a) {
					t.Errorf("caller check: projects %q, which the policy does not allow", a)
				}
			}
		}
	}
	rec.calls = nil
	if _, err := store.GetSetting(ctx, "p1"); err != nil {
		t.Fatalf("GetSetting: got error %v, want nil", err)
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	if err := store.PutSetting(ctx, erasure.Setting{PracticeID: "p1", Enabled: true, UpdatedAt: &now, UpdatedBy: "pr-owner"}); err != nil {
		t.Fatalf("PutSetting: got error %v, want nil", err)
	}
	if len(rec.calls) != 2 {
		t.Fatalf("got %d calls, want 2 (GetItem, PutItem)", len(rec.calls))
	}
	var used []string
	get := rec.calls[0]
	if target := get["X-Amz-Target"]; target != "DynamoDB_20120810.GetItem" {
		t.Fatalf("GetSetting: got call %v, want GetItem", target)
	}
	expr, _ := get["ProjectionExpression"].(string)
	if expr == "" {
		t.Error("GetSetting: got no ProjectionExpression, want the setting's attributes")
	}
	names, _ := get["ExpressionAttributeNames"].(map[string]any)
	for _, a := range projected(expr, names) {
		used = append(used, "dynamodb:GetItem "+a)
	}
	put := rec.calls[1]
	if target := put["X-Amz-Target"]; target != "DynamoDB_20120810.PutItem" {
		t.Fatalf("PutSetting: got call %v, want PutItem", target)
	}
	if rv, ok := put["ReturnValues"]; ok && rv != "NONE" {
		t.Errorf("PutSetting: got ReturnValues %v, want NONE", rv)
	}
	item, _ := put["Item"].(map[string]any)
	for a := range item {
		used = append(used, "dynamodb:PutItem "+a)
	}
	for _, u := range used {
		action, attr, _ := strings.Cut(u, " ")
		if !slices.Contains(allowed[action], attr) {
			t.Errorf("%s of %q: got it outside the settings policy's attributes %v", action, attr, allowed[action])
		}
	}
}

// The export request's one batch read stays within its statement: it
// projects only attributes the statement names, so it reads no content.
func TestTemplateIAM_ExportAccessWithinPolicy(t *testing.T) {
	var allowed []string
	for _, s := range functionStatements(t, cfnTree(t), "ExportsFunction") {
		if s.sid == "ExportAccess" {
			allowed = s.condValues("ForAllValues:StringEquals", "dynamodb:Attributes")
		}
	}
	if len(allowed) == 0 {
		t.Fatal("ExportsFunction: got no ExportAccess statement limited to attributes, want one")
	}
	rec := &recorder{}
	db := dynamodb.New(dynamodb.Options{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
		HTTPClient:   &http.Client{Transport: rec},
	})
	if _, err := dynamostore.NewExports(db, "t").ExportAccess(context.Background(), "p1", "pr-owner", "cl-1"); err != nil {
		t.Fatalf("ExportAccess: %v", err)
	}
	if len(rec.calls) != 1 || rec.calls[0]["X-Amz-Target"] != "DynamoDB_20120810.BatchGetItem" {
		t.Fatalf("got calls %v, want one BatchGetItem", rec.calls)
	}
	for _, ka := range rec.calls[0]["RequestItems"].(map[string]any) {
		ka := ka.(map[string]any)
		expr, _ := ka["ProjectionExpression"].(string)
		names, _ := ka["ExpressionAttributeNames"].(map[string]any)
		got := projected(expr, names)
		slices.Sort(got)
		want := slices.Sorted(slices.Values(allowed))
		if !slices.Equal(got, want) {
			t.Errorf("ExportAccess projects %v, want exactly the statement's %v", got, want)
		}
	}
}
