package rmemu_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// A test serves the emulator on 127.0.0.1, seeds it, scripts a fault, and
// points the client under test at its URL with the test credentials.
func Example() {
	srv := rmemu.New(rmemu.Options{})
	if err := srv.LoadSeed(strings.NewReader(`[{"HandshakeId":"h-ExampleInvite001","Age":"9d"}]`)); err != nil {
		panic(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	srv.ThrottleNext("h-ExampleInvite001", 1) // the first call naming it is throttled

	// A client signs with rmemu.TestAccessKeyID and rmemu.TestAccessKeySecret;
	// an unsigned request is refused as the service refuses it.
	resp, err := http.Get(ts.URL + "/?Action=CancelHandshake&Version=2020-03-31&HandshakeId=h-ExampleInvite001")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	fmt.Println(resp.StatusCode, srv.Status("h-ExampleInvite001"), srv.Stats().Codes)
	// Output: 400 Pending map[MissingAccessKeyId:1]
}
