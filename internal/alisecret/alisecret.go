// Package alisecret reads the Alibaba Cloud credentials of the Lambda
// function from an AWS Secrets Manager secret.
//
// The secret is a JSON object:
//
//	{"AccessKeyId": "LTAI...", "AccessKeySecret": "..."}
//
// with an optional "SecurityToken" for STS credentials. The function reads
// it at cold start (the variable ALIBABA_CLOUD_CREDENTIALS_SECRET_ID names
// it), and again through a Provider: after a TTL, and when the API rejects
// the credentials, so that a rotated secret reaches a warm instance. Its
// execution role may call secretsmanager:GetSecretValue on that secret and
// nothing else.
//
// No error of this package contains any part of the secret's value: JSON
// errors report a byte offset and the name of the field concerned, never the
// text around it.
package alisecret

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

// want describes the expected secret, for error messages.
const want = `want a JSON object {"AccessKeyId": "...", "AccessKeySecret": "..."} (optional "SecurityToken")`

var (
	// ErrNotFound is wrapped when the secret does not exist in the
	// function's account and region (or has been scheduled for deletion).
	ErrNotFound = errors.New("secret not found")
	// ErrMalformed is wrapped when the secret exists but does not hold
	// credentials in the expected shape.
	ErrMalformed = errors.New("malformed credentials secret")
)

// maxIDLen is the longest secret ID accepted: a Secrets Manager ARN has at
// most 2048 characters, a name at most 512. Anything longer is refused
// without a call, and without being repeated in the error.
const maxIDLen = 2048

// Load reads the secret secretID (its name or ARN) with
// secretsmanager:GetSecretValue, using awsCfg (from config.LoadDefaultConfig
// in the caller), and returns the credentials it holds.
func Load(ctx context.Context, awsCfg aws.Config, secretID string) (resourcemanager.Credentials, error) {
	if strings.TrimSpace(secretID) == "" {
		return resourcemanager.Credentials{}, errors.New("alisecret: no secret ID: set ALIBABA_CLOUD_CREDENTIALS_SECRET_ID to the name or ARN of a Secrets Manager secret; " + want)
	}
	if len(secretID) > maxIDLen {
		return resourcemanager.Credentials{}, fmt.Errorf("alisecret: secret ID of %d bytes is too long: want a Secrets Manager secret name or ARN of at most %d bytes", len(secretID), maxIDLen)
	}
	out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return resourcemanager.Credentials{}, fmt.Errorf("alisecret: %w: Secrets Manager has no secret %q in this account and region; create it (%s) or correct ALIBABA_CLOUD_CREDENTIALS_SECRET_ID: %w",
				ErrNotFound, secretID, want, err)
		}
		// The SDK's error names the operation, the status, the request ID
		// and the service's message (access denied, decryption failure...),
		// never the value.
		return resourcemanager.Credentials{}, fmt.Errorf("alisecret: read secret %q: %w", secretID, err)
	}
	var raw []byte
	switch {
	case out.SecretString != nil:
		raw = []byte(*out.SecretString)
	case out.SecretBinary != nil:
		raw = out.SecretBinary
	default:
		return resourcemanager.Credentials{}, malformed(secretID, "it has no value")
	}
	return parse(secretID, raw)
}

// parse decodes the secret's value. Every error is built here from fixed
// text, field names and offsets: encoding/json's own messages can quote
// input (a character, a number), so they are never passed on.
func parse(secretID string, raw []byte) (resourcemanager.Credentials, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			return resourcemanager.Credentials{}, malformed(secretID, fmt.Sprintf("it is not valid JSON (syntax error at byte %d)", syn.Offset))
		default:
			return resourcemanager.Credentials{}, malformed(secretID, "it is not a JSON object")
		}
	}
	if fields == nil { // the JSON literal null
		return resourcemanager.Credentials{}, malformed(secretID, "it is not a JSON object")
	}
	var c resourcemanager.Credentials
	var problems []string
	for _, f := range []struct {
		name     string
		dst      *string
		required bool
	}{
		{"AccessKeyId", &c.AccessKeyID, true},
		{"AccessKeySecret", &c.AccessKeySecret, true},
		{"SecurityToken", &c.SecurityToken, false},
	} {
		v, ok := fields[f.name]
		if !ok {
			if f.required {
				problems = append(problems, "no "+f.name)
			}
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			problems = append(problems, f.name+" is not a JSON string")
			continue
		}
		s = strings.TrimSpace(s)
		if s == "" && f.required {
			problems = append(problems, f.name+" is empty")
			continue
		}
		*f.dst = s
	}
	if len(problems) > 0 {
		return resourcemanager.Credentials{}, malformed(secretID, strings.Join(problems, ", "))
	}
	return c, nil
}

func malformed(secretID, what string) error {
	return fmt.Errorf("alisecret: %w %q: %s; %s", ErrMalformed, secretID, what, want)
}
