// Package deploytest holds the tests of handshake-janitor's deploy
// descriptors, which are part of the product: template.yaml (AWS SAM) and
// its samconfig.toml, s.yaml (Serverless Devs, fc3), ram-policy.json, the
// deploy walkthroughs and links of README.md and docs/, and the console
// archives of `make package`. A descriptor that would fail at deploy time, that
// drifts from the configuration pkg/config reads, or that grants more than
// the code uses fails a test here.
//
// The package has no code of its own; its tests read the files at the
// module's root.
package deploytest
