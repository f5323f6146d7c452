package config

import (
	"slices"
	"strconv"

	"github.com/handshake-janitor/handshake-janitor/pkg/deadline"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/pacing"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

// Variable describes one environment variable the project reads.
type Variable struct {
	Name        string
	Default     string   // as the variable would spell it; "" when there is none
	Description string   // one sentence, for README and descriptor comments
	Platforms   []string // where it is read: logging.PlatformAWS, PlatformFC, PlatformCLI

	// Secret marks a variable that holds a secret: a deploy descriptor must
	// not hard-code it and nothing logs it. The platform, a secret store or
	// the operator's shell provides it.
	Secret bool

	// Chain marks a variable read by the credentials-go default chain rather
	// than by Load.
	Chain bool

	// Optional marks a variable with no default whose empty value is a
	// setting of its own ("off"): a deploy descriptor may set it empty.
	Optional bool
}

// On reports whether the variable is read on platform.
func (v Variable) On(platform string) bool { return slices.Contains(v.Platforms, platform) }

var (
	everywhere = []string{logging.PlatformAWS, logging.PlatformFC, logging.PlatformCLI}
	awsOnly    = []string{logging.PlatformAWS}
)

// Variables is every environment variable the project reads, in the order
// README's table lists them. Deploy-descriptor tests check template.yaml and
// s.yaml against it both ways. Treat it as read-only.
var Variables = []Variable{
	{Name: EnvDirectory, Default: directory.Default().Name, Platforms: []string{logging.PlatformAWS, logging.PlatformCLI},
		Description: "The directory of invitations: resource-directory (Alibaba Cloud Resource Directory) or aws-organizations (AWS Organizations, Lambda and CLI only; its client takes the AWS SDK's standard credential chain, region and AWS_ENDPOINT_URL_ORGANIZATIONS)."},
	{Name: EnvEndpoint, Default: resourcemanager.DefaultEndpoint, Platforms: everywhere,
		Description: "Resource Manager API endpoint: a host, or a URL with no path; http:// only for a loopback host (the emulator)."},
	{Name: EnvStaleAfter, Default: "168h", Platforms: everywhere,
		Description: "Sweep: a Pending invitation older than this is stale; a Go duration like 72h or whole days like 7d."},
	{Name: EnvDryRun, Default: "false", Platforms: everywhere,
		Description: "Report what would be cancelled and cancel nothing; true/false, 1/0 or yes/no."},
	{Name: EnvMaxCancellations, Default: "100", Platforms: everywhere,
		Description: "Blast-radius guard: a real sweep that selects more invitations than this cancels none and fails; 0 or more, where 0 allows no real cancellation at all."},
	{Name: EnvAPIQPS, Default: strconv.Itoa(pacing.DefaultQPS), Platforms: everywhere,
		Description: "Client-side rate limit, API calls per second; more than 0, at most 1000."},
	{Name: EnvAPIConcurrency, Default: "4", Platforms: everywhere,
		Description: "API calls in flight at once; 1 to 64."},
	{Name: EnvAPITimeout, Default: deadline.DefaultAPITimeout.String(), Platforms: everywhere,
		Description: "Timeout of one HTTP attempt; more than 0, at most 60s."},
	{Name: EnvLogLevel, Default: "info", Platforms: everywhere,
		Description: "Lowest level logged: " + logging.LevelWords + "."},
	{Name: EnvAllowedTargets, Platforms: everywhere, Optional: true,
		Description: "Target policy: comma-separated patterns (an account ID of the directory: 16 digits on Resource Directory, 12 on AWS Organizations; an e-mail address, or an e-mail pattern such as *@example.com); a sweep also cancels every open invitation whose target matches none, whatever its age, and so does an invite event. Empty: no target policy."},
	{Name: EnvLogTargets, Default: "false", Platforms: everywhere,
		Description: "Log and report invitation targets as they are; false redacts e-mail addresses (j***@example.com). true/false, 1/0 or yes/no."},
	{Name: EnvCredentialsSecretID, Platforms: awsOnly,
		Description: `Optional: name or ARN of the Secrets Manager secret holding {"AccessKeyId","AccessKeySecret"}; unset, the credentials-go default chain is used.`},
	{Name: EnvCredentialsSecretTTL, Default: "5m", Platforms: awsOnly,
		Description: "How long credentials read from that secret are used before it is read again (at once when the API rejects them); 1s to 24h."},
	{Name: EnvMetricsNamespace, Default: DefaultMetricsNamespace, Platforms: awsOnly,
		Description: "CloudWatch namespace of the metrics in the invocation summary line (Embedded Metric Format); Lambda only."},
	{Name: EnvMetricsByTrigger, Default: "false", Platforms: awsOnly,
		Description: "Also publish each summary metric per trigger (the Trigger dimension), at CloudWatch's price per custom metric; false publishes the rollup the alarms and dashboard read. Lambda only."},
	{Name: EnvAccessKeyID, Platforms: everywhere, Secret: true, Chain: true,
		Description: "Access key ID, read by the credentials-go default chain (which also tries profiles, OIDC and instance roles); on FC the platform sets it from the function's role. Never hard-code it."},
	{Name: EnvAccessKeySecret, Platforms: everywhere, Secret: true, Chain: true,
		Description: "Access key secret, read by the credentials-go default chain; on FC the platform sets it. Never hard-code it."},
	{Name: EnvSecurityToken, Platforms: everywhere, Secret: true, Chain: true,
		Description: "STS security token of temporary credentials, read by the credentials-go default chain; on FC the platform sets it. Never hard-code it."},
}
