package rmemu_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// A test of Resource Directory automation serves the emulator on 127.0.0.1,
// seeds it, and points its client, here Alibaba Cloud's official OpenAPI
// client, at it with the emulator's test credentials. The emulator answers
// as the service does: the first cancel succeeds, the second is refused
// with 409 HandshakeStatusMismatch.
func Example() {
	srv := rmemu.New(rmemu.Options{})
	if err := srv.LoadSeed(strings.NewReader(`[{"HandshakeId":"h-ExampleInvite001","Age":"9d"}]`)); err != nil {
		panic(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	client, err := openapi.NewClient(&openapi.Config{
		AccessKeyId:     dara.String(rmemu.TestAccessKeyID),
		AccessKeySecret: dara.String(rmemu.TestAccessKeySecret),
		Endpoint:        dara.String(strings.TrimPrefix(ts.URL, "http://")),
		Protocol:        dara.String("http"),
	})
	if err != nil {
		panic(err)
	}
	cancel := func(id string) error {
		_, err := client.CallApi(&openapi.Params{
			Action: dara.String("CancelHandshake"), Version: dara.String(rmemu.APIVersion),
			Protocol: dara.String("HTTP"), Pathname: dara.String("/"), Method: dara.String("POST"),
			AuthType: dara.String("AK"), Style: dara.String("RPC"),
			ReqBodyType: dara.String("formData"), BodyType: dara.String("json"),
		}, &openapi.OpenApiRequest{Query: map[string]*string{"HandshakeId": dara.String(id)}}, &dara.RuntimeOptions{})
		return err
	}

	fmt.Println("first cancel:", cancel("h-ExampleInvite001"), srv.Status("h-ExampleInvite001"))
	var refused *tea.SDKError
	if errors.As(cancel("h-ExampleInvite001"), &refused) {
		fmt.Println("second cancel:", dara.IntValue(refused.StatusCode), dara.StringValue(refused.Code))
	}
	fmt.Println("calls:", srv.Stats().Calls["CancelHandshake"])
	// Output:
	// first cancel: <nil> Cancelled
	// second cancel: 409 HandshakeStatusMismatch
	// calls: 2
}

// An unsigned request is refused as the service refuses it, and a fault can
// be scripted for the next call naming an invitation.
func Example_unsigned() {
	srv := rmemu.New(rmemu.Options{})
	if err := srv.LoadSeed(strings.NewReader(`[{"HandshakeId":"h-ExampleInvite001","Age":"9d"}]`)); err != nil {
		panic(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	srv.ThrottleNext("h-ExampleInvite001", 1) // the first signed call naming it is throttled

	resp, err := http.Get(ts.URL + "/?Action=CancelHandshake&Version=2020-03-31&HandshakeId=h-ExampleInvite001")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	fmt.Println(resp.StatusCode, srv.Status("h-ExampleInvite001"), srv.Stats().Codes)
	// Output: 400 Pending map[MissingAccessKeyId:1]
}
