// Package deploytest holds the tests of handshake-janitor's deploy
// descriptors and release files, which are part of the product:
// template.yaml (AWS SAM) with its Serverless Application Repository
// metadata and its samconfig.toml, s.yaml (Serverless Devs, fc3), the
// RAM policies and CloudMonitor alarm rules of deploy/aliyun, the
// Serverless Devs registry application (deploy/aliyun/registry),
// CHANGELOG.md's release version, the deploy walkthroughs and links of
// README.md and docs/, and what `make package` and `make release` write. A
// descriptor that would fail at deploy or publish time, that drifts from
// the configuration pkg/config reads or from the release version, or that
// grants more than the code uses fails a test here.
//
// The package has no code of its own; its tests read the files at the
// module's root.
package deploytest
