// Command echo is a throwaway Function Compute function for the fcruntime
// tests. It answers with what it was given and what the SDK put in fccontext
// (credentials only as present or not), and on demand fails ("fail:MESSAGE"),
// panics ("panic") or sleeps past its deadline ("sleep:DURATION").
package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
)

type reply struct {
	Payload        string `json:"payload"`
	RequestID      string `json:"requestId"`
	HasKeyID       bool   `json:"hasKeyId"`
	HasSecret      bool   `json:"hasSecret"`
	HasToken       bool   `json:"hasToken"`
	TimeoutSeconds int    `json:"timeoutSeconds"`
	HasDeadline    bool   `json:"hasDeadline"`
	FunctionName   string `json:"functionName"`
	Memory         string `json:"memory"`
	Region         string `json:"region"`
	AccountID      string `json:"accountId"`
	RetryCount     int    `json:"retryCount"`
	Initialized    bool   `json:"initialized"`
	EnvRegion      string `json:"envRegion"`
}

var initialized atomic.Bool

func handle(ctx context.Context, payload []byte) (reply, error) {
	in := string(payload)
	switch {
	case strings.HasPrefix(in, "fail:"):
		return reply{}, errors.New(strings.TrimPrefix(in, "fail:"))
	case in == "panic":
		panic("echo: asked to panic")
	case strings.HasPrefix(in, "sleep:"):
		d, err := time.ParseDuration(strings.TrimPrefix(in, "sleep:"))
		if err != nil {
			return reply{}, err
		}
		time.Sleep(d) // ignores ctx on purpose: the point is to overrun
	}
	r := reply{Payload: in, Initialized: initialized.Load(), EnvRegion: os.Getenv("FC_REGION")}
	if fctx, ok := fccontext.FromContext(ctx); ok {
		r.RequestID = fctx.RequestID
		r.HasKeyID = fctx.Credentials.AccessKeyId != ""
		r.HasSecret = fctx.Credentials.AccessKeySecret != ""
		r.HasToken = fctx.Credentials.SecurityToken != ""
		r.TimeoutSeconds = fctx.Function.Timeout
		r.FunctionName = fctx.Function.Name
		r.Memory = fctx.Function.Memory
		r.Region = fctx.Region
		r.AccountID = fctx.AccountId
		r.RetryCount = fctx.RetryCount
	}
	_, r.HasDeadline = ctx.Deadline()
	return r, nil
}

func main() {
	fc.RegisterInitializerFunction(func(context.Context) { initialized.Store(true) })
	fc.Start(handle)
}
