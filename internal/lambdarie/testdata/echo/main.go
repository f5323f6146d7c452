// Command echo is a throwaway Lambda function for the lambdarie tests: it
// echoes its event, fails when asked to, and sleeps past its timeout when
// asked to.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Echo  string `json:"echo"`
	Fail  string `json:"fail"`
	Sleep string `json:"sleep"`
	Env   string `json:"env"`
}

type reply struct {
	Echo        string `json:"echo"`
	RequestID   string `json:"requestId"`
	HasDeadline bool   `json:"hasDeadline"`
	Env         string `json:"env,omitempty"`
}

func handle(ctx context.Context, e event) (reply, error) {
	if e.Fail != "" {
		return reply{}, errors.New(e.Fail)
	}
	if e.Sleep != "" {
		d, err := time.ParseDuration(e.Sleep)
		if err != nil {
			return reply{}, err
		}
		time.Sleep(d) // ignores ctx on purpose: the point is to overrun
	}
	r := reply{Echo: e.Echo}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.RequestID = lc.AwsRequestID
	}
	_, r.HasDeadline = ctx.Deadline()
	if e.Env != "" {
		r.Env = os.Getenv(e.Env)
	}
	// One log line per invocation, as the real function writes on stdout.
	fmt.Printf("{\"msg\":\"echo\",\"request_id\":%q}\n", r.RequestID)
	return r, nil
}

func main() {
	lambda.StartWithOptions(handle, lambda.WithEnableSIGTERM(func() {
		fmt.Println(`{"msg":"echo: SIGTERM"}`)
	}))
}
