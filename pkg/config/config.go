// Package config reads handshake-janitor's settings from the environment,
// once, into a validated Config.
//
// Variables is the one list of every environment variable the project reads;
// the deploy descriptors and README are checked against it. A bad value
// stops start-up with one line per bad setting naming the variable, the value
// and what is accepted. Config holds no secret: credentials are read by the
// credentials-go default chain, never by this package.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/emf"
	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/pacing"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/handshake-janitor/handshake-janitor/pkg/targetpolicy"
	"github.com/rs/zerolog"
)

// Names of the variables Load reads.
const (
	EnvDirectory            = "DIRECTORY"
	EnvEndpoint             = "RESOURCEMANAGER_ENDPOINT"
	EnvStaleAfter           = "STALE_AFTER"
	EnvDryRun               = "DRY_RUN"
	EnvMaxCancellations     = "MAX_CANCELLATIONS"
	EnvAPIQPS               = "API_QPS"
	EnvAPIConcurrency       = "API_CONCURRENCY"
	EnvAPITimeout           = "API_TIMEOUT"
	EnvLogLevel             = "LOG_LEVEL"
	EnvCredentialsSecretID  = "ALIBABA_CLOUD_CREDENTIALS_SECRET_ID"
	EnvAllowedTargets       = "ALLOWED_TARGETS"
	EnvLogTargets           = "LOG_TARGETS"
	EnvMetricsNamespace     = "METRICS_NAMESPACE"
	EnvMetricsByTrigger     = "METRICS_BY_TRIGGER"
	EnvCredentialsSecretTTL = "ALIBABA_CLOUD_CREDENTIALS_SECRET_TTL"
)

// Names of the credential variables read by the credentials-go default
// chain (on FC the platform sets them from the function's role).
const (
	EnvAccessKeyID     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	EnvAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	EnvSecurityToken   = "ALIBABA_CLOUD_SECURITY_TOKEN"
)

// Defaults, used when a variable is unset or empty. The defaults of
// RESOURCEMANAGER_ENDPOINT, API_QPS and API_TIMEOUT are those of the code
// that uses them: resourcemanager.DefaultEndpoint, pacing.DefaultQPS and
// deadline.DefaultAPITimeout.
const (
	DefaultStaleAfter           = 168 * time.Hour
	DefaultDryRun               = false
	DefaultMaxCancellations     = 100
	DefaultAPIConcurrency       = 4
	DefaultLogLevel             = zerolog.InfoLevel
	DefaultMetricsNamespace     = "HandshakeJanitor"
	DefaultCredentialsSecretTTL = 5 * time.Minute
)

// Limits of the numeric settings.
const (
	MaxAPIQPS         = 1000.0
	MaxAPIConcurrency = 64
	MaxAPITimeout     = 60 * time.Second

	MinCredentialsSecretTTL = time.Second
	MaxCredentialsSecretTTL = 24 * time.Hour
)

// Config is the validated configuration of one process.
type Config struct {
	// Directory is the directory of invitations (DIRECTORY): a
	// directory.Kind's Name; Kind returns it.
	Directory        string
	Endpoint         string        // host or URL, as given; checked like the client checks it
	StaleAfter       time.Duration // sweep: a Pending invitation older than this is stale; > 0
	DryRun           bool          // report what would be cancelled, cancel nothing
	MaxCancellations int           // a sweep selecting more than this cancels none; >= 0
	APIQPS           float64       // client-side rate limit; (0, 1000]
	APIConcurrency   int           // API calls in flight; 1..64
	APITimeout       time.Duration // per HTTP attempt; (0, 60s]
	LogLevel         zerolog.Level
	// CredentialsSecretID names (name or ARN) the AWS Secrets Manager secret
	// holding {"AccessKeyId","AccessKeySecret"}; AWS only, optional. It is a
	// reference to a secret, not a secret.
	CredentialsSecretID string
	// CredentialsSecretTTL is how long credentials read from that secret
	// are used before it is read again (a rejected key is re-read at
	// once); AWS only.
	CredentialsSecretTTL time.Duration
	// MetricsNamespace is the CloudWatch namespace of the metrics in the
	// invocation summary line (Embedded Metric Format); Lambda only.
	MetricsNamespace string
	// MetricsByTrigger also publishes each summary metric per trigger
	// (the Trigger dimension); false, the rollup only, which the alarms
	// and the dashboard read. Lambda only.
	MetricsByTrigger bool
	// AllowedTargets is the target policy, validated: the patterns of
	// ALLOWED_TARGETS joined by commas; empty, no target policy. A sweep
	// also selects every Pending invitation whose target matches none.
	// TargetPolicy returns it parsed. (A string keeps Config comparable.)
	AllowedTargets string
	// LogTargets logs and reports invitation targets as they are; false,
	// e-mail addresses are masked (targetpolicy.MaskTarget).
	LogTargets bool
}

// TargetPolicy returns the parsed target policy (empty when AllowedTargets
// is). It fails only for a Config that Load did not make.
func (c Config) TargetPolicy() (targetpolicy.Policy, error) {
	p, err := targetpolicy.Parse(c.AllowedTargets, c.Kind())
	if err != nil {
		return targetpolicy.Policy{}, fmt.Errorf("%s: %w", EnvAllowedTargets, err)
	}
	return p, nil
}

// Kind returns the directory Directory names (directory.Default when it is
// empty or not a directory's name, which Load never lets through).
func (c Config) Kind() directory.Kind {
	k, err := directory.ParseKind(c.Directory)
	if err != nil {
		return directory.Default()
	}
	return k
}

// Default returns the configuration of an empty environment.
func Default() Config {
	return Config{
		Directory:            directory.Default().Name,
		Endpoint:             resourcemanager.DefaultEndpoint,
		StaleAfter:           DefaultStaleAfter,
		DryRun:               DefaultDryRun,
		MaxCancellations:     DefaultMaxCancellations,
		APIQPS:               pacing.DefaultQPS,
		APIConcurrency:       DefaultAPIConcurrency,
		APITimeout:           deadline.DefaultAPITimeout,
		LogLevel:             DefaultLogLevel,
		MetricsNamespace:     DefaultMetricsNamespace,
		CredentialsSecretTTL: DefaultCredentialsSecretTTL,
	}
}

// What each setting accepts, as error lines say it.
const (
	wantStaleAfter  = acceptedDuration
	wantDryRun      = "want true or false (also 1/0, yes/no)"
	wantMaxCancel   = WantMaxCancellations
	wantAPIQPS      = "want a number of calls per second greater than 0 and at most 1000, like 10 or 0.5"
	wantConcurrency = "want a whole number from 1 to 64"
	wantAPITimeout  = "want a duration greater than zero and at most 60s, like 5s or 1500ms"
	wantLogLevel    = "want one of " + logging.LevelWords
	wantLogTargets  = "want true or false (also 1/0, yes/no)"
	wantByTrigger   = "want true or false (also 1/0, yes/no)"
	wantNamespace   = emf.NamespaceRule
	wantSecretID    = "want the name or ARN of a Secrets Manager secret (letters, digits and /_+=.@-:, at most 2048 bytes)"
	wantSecretTTL   = "want a duration from 1s to 24h, like 5m"
)

// maxQuoted bounds how much of a bad value an error line shows.
const maxQuoted = 64

// SettingError is one bad setting. Its message is one line naming the
// variable, the value (quoted and bounded, or withheld when it may hold a
// secret) and what is accepted.
type SettingError struct {
	Name  string // the variable
	Value string // the value as the message shows it, already quoted
	Want  string // what is wrong and what is accepted
}

func (e *SettingError) Error() string { return e.Name + "=" + e.Value + ": " + e.Want }

func settingError(name, value, want string) *SettingError {
	return &SettingError{Name: name, Value: handshake.Quote(value, maxQuoted), Want: want}
}

// withheld is how an error shows a value it must not print.
func withheld(value string) string {
	return fmt.Sprintf("(%d bytes, not shown: it may hold a secret)", len(value))
}

// Load reads every variable once through getenv (os.Getenv when nil) and
// returns the validated Config. Surrounding white space is ignored; an empty
// value means the default. When settings are bad, the error joins one
// *SettingError per bad setting, in Variables order, one per line.
func Load(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Default()
	var errs []error
	bad := func(err *SettingError) { errs = append(errs, err) }
	get := func(name string) (string, bool) {
		v := strings.TrimSpace(getenv(name))
		return v, v != ""
	}

	if v, ok := get(EnvDirectory); ok {
		if k, err := directory.ParseKind(v); err != nil {
			bad(settingError(EnvDirectory, v, directory.Accepted))
		} else {
			c.Directory = k.Name
		}
	}
	if v, ok := get(EnvEndpoint); ok {
		if err := checkEndpoint(v); err != nil {
			bad(err)
		} else {
			c.Endpoint = v
		}
	}
	if v, ok := get(EnvStaleAfter); ok {
		if d, err := ParseDuration(v); err != nil {
			bad(settingError(EnvStaleAfter, v, wantStaleAfter))
		} else {
			c.StaleAfter = d
		}
	}
	if v, ok := get(EnvDryRun); ok {
		if b, ok := parseBool(v); !ok {
			bad(settingError(EnvDryRun, v, wantDryRun))
		} else {
			c.DryRun = b
		}
	}
	if v, ok := get(EnvMaxCancellations); ok {
		if n, err := ParseMaxCancellations(v); err != nil {
			bad(settingError(EnvMaxCancellations, v, wantMaxCancel))
		} else {
			c.MaxCancellations = n
		}
	}
	if v, ok := get(EnvAPIQPS); ok {
		// The comparison is written so that NaN fails it.
		if q, err := strconv.ParseFloat(v, 64); err != nil || !(q > 0 && q <= MaxAPIQPS) {
			bad(settingError(EnvAPIQPS, v, wantAPIQPS))
		} else {
			c.APIQPS = q
		}
	}
	if v, ok := get(EnvAPIConcurrency); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > MaxAPIConcurrency {
			bad(settingError(EnvAPIConcurrency, v, wantConcurrency))
		} else {
			c.APIConcurrency = n
		}
	}
	if v, ok := get(EnvAPITimeout); ok {
		if d, err := ParseDuration(v); err != nil || d > MaxAPITimeout {
			bad(settingError(EnvAPITimeout, v, wantAPITimeout))
		} else {
			c.APITimeout = d
		}
	}
	if v, ok := get(EnvLogLevel); ok {
		if l, err := logging.ParseLevel(v); err != nil {
			bad(settingError(EnvLogLevel, v, wantLogLevel))
		} else {
			c.LogLevel = l
		}
	}
	if v, ok := get(EnvAllowedTargets); ok {
		if p, err := targetpolicy.Parse(v, c.Kind()); err != nil {
			// The message names the bad pattern, bounded; the value as a
			// whole may be long.
			bad(&SettingError{Name: EnvAllowedTargets, Value: handshake.Quote(v, maxQuoted), Want: err.Error()})
		} else {
			c.AllowedTargets = p.String()
		}
	}
	if v, ok := get(EnvLogTargets); ok {
		if b, ok := parseBool(v); !ok {
			bad(settingError(EnvLogTargets, v, wantLogTargets))
		} else {
			c.LogTargets = b
		}
	}
	if v, ok := get(EnvCredentialsSecretID); ok {
		if !validSecretID(v) {
			// Someone may have pasted the secret itself here: do not echo it.
			bad(&SettingError{Name: EnvCredentialsSecretID, Value: withheld(v), Want: wantSecretID})
		} else {
			c.CredentialsSecretID = v
		}
	}
	if v, ok := get(EnvCredentialsSecretTTL); ok {
		if d, err := ParseDuration(v); err != nil || d < MinCredentialsSecretTTL || d > MaxCredentialsSecretTTL {
			bad(settingError(EnvCredentialsSecretTTL, v, wantSecretTTL))
		} else {
			c.CredentialsSecretTTL = d
		}
	}
	if v, ok := get(EnvMetricsNamespace); ok {
		if !validNamespace(v) {
			bad(settingError(EnvMetricsNamespace, v, wantNamespace))
		} else {
			c.MetricsNamespace = v
		}
	}
	if v, ok := get(EnvMetricsByTrigger); ok {
		if b, ok := parseBool(v); !ok {
			bad(settingError(EnvMetricsByTrigger, v, wantByTrigger))
		} else {
			c.MetricsByTrigger = b
		}
	}

	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// WantMaxCancellations says what MAX_CANCELLATIONS (and the CLI's -max)
// accepts.
const WantMaxCancellations = "want a whole number, 0 or more (0 allows no real cancellation)"

// ParseMaxCancellations reads a blast-radius limit: a whole number, 0 or
// more. Zero is a limit of its own, the narrowest: no real cancellation.
func ParseMaxCancellations(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: %s", handshake.Quote(s, maxQuoted), WantMaxCancellations)
	}
	return n, nil
}

// parseBool accepts true/false, 1/0 and yes/no in any case.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}

// validSecretID accepts what AWS accepts in a secret name, plus the colons
// of an ARN.
func validSecretID(s string) bool {
	return len(s) <= 2048 && onlyAlnumOr(s, "/_+=.@-:")
}

// validNamespace accepts what CloudWatch accepts as a custom namespace
// (emf.ValidNamespace, whose pattern template.yaml's MetricsNamespace
// parameter carries).
func validNamespace(s string) bool { return emf.ValidNamespace(s) == nil }

// onlyAlnumOr reports whether s holds only ASCII letters, digits and bytes
// of extra.
func onlyAlnumOr(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// MaxDuration bounds every duration ParseDuration reads: 36500 days, a
// century.
const MaxDuration = 36500 * 24 * time.Hour

// acceptedDuration says, in errors, what ParseDuration reads.
const acceptedDuration = "want a Go duration like 72h or whole days like 7d, greater than zero and at most 36500d"

// ParseDuration is the one grammar of a duration an operator writes: a
// setting (STALE_AFTER, API_TIMEOUT), a sweep payload's "olderThan", the
// CLI's -older-than. It reads a Go duration (time.ParseDuration: 72h, 90m,
// 1h30m) or a whole number of days written Nd (7d, 30d), with no sign,
// greater than zero and at most MaxDuration. The error quotes s, bounded,
// and says what is accepted.
func ParseDuration(s string) (time.Duration, error) {
	var d time.Duration
	ok := false
	if s != "" && s[0] != '-' && s[0] != '+' {
		if n, isDays := strings.CutSuffix(s, "d"); isDays {
			if days, err := strconv.ParseUint(n, 10, 32); err == nil && days <= uint64(MaxDuration/(24*time.Hour)) {
				d, ok = time.Duration(days)*24*time.Hour, true
			}
		} else if v, err := time.ParseDuration(s); err == nil {
			d, ok = v, true
		}
	}
	if !ok || d <= 0 || d > MaxDuration {
		return 0, fmt.Errorf("invalid duration %s: %s", handshake.Quote(s, maxQuoted), acceptedDuration)
	}
	return d, nil
}

// FormatDuration writes d as ParseDuration reads it: whole days as Nd,
// anything else in Go syntax. ParseDuration reads it back when d is one it
// accepts (greater than zero, at most MaxDuration).
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d != 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

// Fields returns the effective configuration as alternating keys and values
// for zerolog's Event.Fields, in Variables order, for the start-up line:
//
//	log.Info().Fields(cfg.Fields()).Msg("configuration")
//
// It holds no secret.
func (c Config) Fields() []any {
	return []any{
		"directory", c.Directory,
		"endpoint", c.Endpoint,
		"stale_after", FormatDuration(c.StaleAfter),
		"dry_run", c.DryRun,
		"max_cancellations", c.MaxCancellations,
		"api_qps", c.APIQPS,
		"api_concurrency", c.APIConcurrency,
		"api_timeout", FormatDuration(c.APITimeout),
		"log_level", c.LogLevel.String(),
		"allowed_targets", c.allowedTargetsShown(),
		"log_targets", c.LogTargets,
		logging.FieldCredentialsSecretID, c.CredentialsSecretID,
		"reread_after", FormatDuration(c.CredentialsSecretTTL),
	}
}

// allowedTargetsShown is the policy as the start-up line shows it: an exact
// address in it is personal data, redacted unless LogTargets.
func (c Config) allowedTargetsShown() string {
	if c.LogTargets || c.AllowedTargets == "" {
		return c.AllowedTargets
	}
	p, err := c.TargetPolicy()
	if err != nil {
		return "(invalid)"
	}
	return p.Masked()
}

// String returns the effective configuration on one line, key=value pairs
// as in Fields.
func (c Config) String() string {
	f := c.Fields()
	var b strings.Builder
	for i := 0; i+1 < len(f); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f[i].(string))
		b.WriteByte('=')
		switch v := f[i+1].(type) {
		case string:
			if v == "" || strings.ContainsAny(v, " \"=") {
				v = strconv.Quote(v)
			}
			b.WriteString(v)
		default:
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}
