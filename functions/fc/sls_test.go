package main_test

// The Simple Log Service queries of deploy/aliyun/sls read the function's
// log lines, as FC stores them, with json_extract_scalar(message,
// '$.<field>'). SLS cannot run here, so this test checks what it can with
// the real binary's real lines: each query selects lines that exist, every
// field it reads is on them, and every field it sums is a number.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/internal/fcruntime"
	"github.com/handshake-janitor/handshake-janitor/internal/testkit"
)

const slsDir = "../../deploy/aliyun/sls"

var (
	// slsField is a field the query reads from the line.
	slsField = regexp.MustCompile(`json_extract_scalar\(message, '\$\.([A-Za-z_]+)'\)`)
	// slsNumber is a field the query casts to a number.
	slsNumber = regexp.MustCompile(`cast\(json_extract_scalar\(message, '\$\.([A-Za-z_]+)'\) AS bigint\)`)
	// slsWhere is an equality of the WHERE clause: the lines the query is about.
	slsWhere = regexp.MustCompile(`json_extract_scalar\(message, '\$\.([A-Za-z_]+)'\) = '([^']*)'`)
	// slsPhrase is a quoted phrase or a bare word of the search statement.
	slsPhrase = regexp.MustCompile(`"([^"]+)"|\b([a-z_]+)\b`)
)

// slsQueries returns every query of deploy/aliyun/sls by file name, with
// alert.json's own query under "alert.json".
func slsQueries(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(slsDir, "*.sql"))
	if err != nil || len(files) < 4 {
		t.Fatalf("queries in %s: %v %v", slsDir, files, err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(b)
	}
	b, err := os.ReadFile(filepath.Join(slsDir, "alert.json"))
	if err != nil {
		t.Fatal(err)
	}
	var alert struct {
		Configuration struct {
			QueryList []struct{ Query string }
		}
	}
	if err := json.Unmarshal(b, &alert); err != nil || len(alert.Configuration.QueryList) != 1 {
		t.Fatalf("alert.json: %v, %d queries, want 1", err, len(alert.Configuration.QueryList))
	}
	out["alert.json"] = alert.Configuration.QueryList[0].Query
	return out
}

func TestAlertRuleRunsAlertSQL(t *testing.T) {
	q := slsQueries(t)
	oneLine := strings.Join(strings.Fields(q["alert.sql"]), " ")
	if q["alert.json"] != oneLine {
		t.Errorf("alert.json's query differs from alert.sql:\n%s\n%s", q["alert.json"], oneLine)
	}
}

func TestSLSQueriesReadFieldsTheFunctionsLinesHave(t *testing.T) {
	testkit.Reset(t, emu)
	// An invocation with a cancelled and a failed invitation...
	ok, failing := "h-E2eFcSlsCancel01", "h-E2eFcSlsFailed01"
	testkit.SeedFresh(t, emu, ok, failing)
	emu.FailAlways(failing)
	named := testkit.RequestID("sls-named")
	invoke(t, []byte(`{"triggerTime":"2026-07-26T03:00:00Z","triggerName":"sls","payload":"`+ok+`,`+failing+`"}`),
		fcruntime.InvokeOptions{RequestID: named, Credentials: roleCreds})
	// ...and a sweep the blast-radius guard refuses (MAX_CANCELLATIONS is
	// the default, 100).
	testkit.SeedOverTheGuard(t, emu, "E2eFcSlsGuard", 101) // with the seed's 3 stale: 104
	sweep := testkit.RequestID("sls-sweep")
	resp := invoke(t, []byte(`{"triggerTime":"2026-07-26T03:00:00Z","triggerName":"sweep","payload":""}`),
		fcruntime.InvokeOptions{RequestID: sweep, Credentials: roleCreds})
	if resp.Err == nil || !strings.Contains(resp.Err.Message, "100") {
		t.Fatalf("the sweep of 104 was not refused by the guard: %s %+v", resp.Body, resp.Err)
	}

	testkit.SummaryLine(t, stdoutLines, named) // waits for the lines to come through
	testkit.SummaryLine(t, stdoutLines, sweep)
	var lines []map[string]any
	var raw []string
	for _, l := range stdoutLines() {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && (m["invocation_id"] == named || m["invocation_id"] == sweep) {
			lines, raw = append(lines, m), append(raw, l)
		}
		if _, ok := m["_aws"]; ok {
			t.Errorf("an EMF document on Function Compute, where nothing reads it: %s", l)
		}
	}

	for name, query := range slsQueries(t) {
		t.Run(name, func(t *testing.T) {
			search, sql, found := strings.Cut(query, "|")
			if !found || !strings.Contains(search, "functionName: handshake-janitor") {
				t.Fatalf("want `functionName: handshake-janitor ... | SQL`, got %q", query)
			}
			// The lines the query is about: every WHERE equality holds.
			var picked []int
			for i, m := range lines {
				all := true
				for _, w := range slsWhere.FindAllStringSubmatch(sql, -1) {
					all = all && text(m[w[1]]) == w[2]
				}
				if all {
					picked = append(picked, i)
				}
			}
			if len(picked) == 0 {
				t.Fatalf("no line of the function matches the WHERE clause of\n%s", sql)
			}
			for _, i := range picked {
				for _, f := range slsField.FindAllStringSubmatch(sql, -1) {
					if _, ok := lines[i][f[1]]; !ok && f[1] != "error" { // error: only when there is one
						t.Errorf("reads %s, which the line lacks: %s", f[1], raw[i])
					}
				}
				for _, f := range slsNumber.FindAllStringSubmatch(sql, -1) {
					if _, ok := lines[i][f[1]].(float64); !ok {
						t.Errorf("sums %s, which is not a number on the line: %s", f[1], raw[i])
					}
				}
				// The search statement must not filter the line out: its
				// phrases and words (but the function's name, a field FC adds)
				// are in the line.
				terms := strings.TrimSpace(strings.Replace(search, "functionName: handshake-janitor", "", 1))
				for _, p := range slsPhrase.FindAllStringSubmatch(terms, -1) {
					word := p[1] + p[2]
					if word == "and" || word == "or" {
						continue
					}
					if !strings.Contains(raw[i], word) {
						t.Errorf("the search statement looks for %q, which the line lacks: %s", word, raw[i])
					}
				}
			}
		})
	}
}

// text is a JSON value as json_extract_scalar returns it.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	b, _ := json.Marshal(v)
	return string(b)
}
