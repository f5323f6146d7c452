package lambdarie_test

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/lambdarie"
)

// Measuring one cold start of a function, as a benchmark would (median of
// several such runs).
func ExampleStart() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bootstrap := filepath.Join("/tmp", "bootstrap")
	if err := lambdarie.Build(ctx, "./testdata/echo", bootstrap); err != nil {
		fmt.Println(err)
		return
	}
	emu, err := lambdarie.Start(ctx, bootstrap, lambdarie.Options{Timeout: 10 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer emu.Kill()

	t0 := time.Now()
	status, body, err := emu.Invoke(ctx, []byte(`{"echo":"hi"}`))
	firstResponse := time.Since(t0)
	if err != nil {
		fmt.Println(err)
		return
	}
	initTime, err := emu.InitDuration(ctx, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(status, string(body), initTime, firstResponse)
}
