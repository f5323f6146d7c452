package main

// The baselines written the way a user would with the official OpenAPI
// client (darabonba-openapi/v2). This program is the only one that links it;
// the functions and the CLI never do.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"

	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

const apiVersion = "2020-03-31"

// staleAfter is the janitor's default STALE_AFTER, which the emulator's
// generated invitations are aged against.
const staleAfter = 168 * time.Hour

func newOfficial(endpoint string) (*openapi.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	return openapi.NewClient(&openapi.Config{
		AccessKeyId:     dara.String(rmemu.TestAccessKeyID),
		AccessKeySecret: dara.String(rmemu.TestAccessKeySecret),
		Endpoint:        dara.String(u.Host),
		Protocol:        dara.String(u.Scheme),
	})
}

func officialParams(action string) *openapi.Params {
	return &openapi.Params{
		Action:      dara.String(action),
		Version:     dara.String(apiVersion),
		Protocol:    dara.String("HTTP"),
		Pathname:    dara.String("/"),
		Method:      dara.String("POST"),
		AuthType:    dara.String("AK"),
		Style:       dara.String("RPC"),
		ReqBodyType: dara.String("formData"),
		BodyType:    dara.String("json"),
	}
}

var (
	officialCancel = officialParams("CancelHandshake")
	officialList   = officialParams("ListHandshakesForResourceDirectory")
)

// officialCancelCall cancels one invitation through the official client.
func officialCancelCall(c *openapi.Client, id string) error {
	req := &openapi.OpenApiRequest{Query: map[string]*string{"HandshakeId": dara.String(id)}}
	_, err := c.CallApi(officialCancel, req, &dara.RuntimeOptions{})
	return err
}

// officialListAll lists every invitation, page by page, keeping each page's
// decoded body as the official client returns it: what a user who "first
// gets the list" holds in memory.
func officialListAll(c *openapi.Client) ([]any, error) {
	var all []any
	for page := 1; page <= 10000; page++ {
		req := &openapi.OpenApiRequest{Query: map[string]*string{
			"PageNumber": dara.String(strconv.Itoa(page)),
			"PageSize":   dara.String("100"),
		}}
		resp, err := c.CallApi(officialList, req, &dara.RuntimeOptions{})
		if err != nil {
			return all, err
		}
		body, _ := resp["body"].(map[string]any)
		hs, _ := body["Handshakes"].(map[string]any)
		list, _ := hs["Handshake"].([]any)
		all = append(all, list...)
		total, _ := number(body["TotalCount"])
		if len(list) < 100 || len(all) >= total {
			return all, nil
		}
	}
	return all, errors.New("more than 10000 pages")
}

// number reads a JSON number as the official client decodes it.
func number(v any) (int, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	case float64:
		return int(n), true
	}
	return 0, false
}

// staleIDs selects the stale Pending invitations of a listing.
func staleIDs(all []any, now time.Time) []string {
	cutoff := now.Add(-staleAfter)
	var ids []string
	for _, v := range all {
		h, _ := v.(map[string]any)
		if h["Status"] != "Pending" {
			continue
		}
		created, err := time.Parse("2006-01-02T15:04:05Z", fmt.Sprint(h["CreateTime"]))
		if err != nil || !created.Before(cutoff) {
			continue
		}
		if id, ok := h["HandshakeId"].(string); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// childReport is what the baseline child processes print on stdout.
type childReport struct {
	Listed    int `json:"listed"`
	Selected  int `json:"selected"`
	Cancelled int `json:"cancelled"`
	Failed    int `json:"failed"`
}

// cmdOfficialLoop is the hidden subcommand `bench official-loop`: list the
// directory, then cancel each stale Pending invitation one after the other,
// through the official client. With -collect-only it cancels nothing: the
// memory baseline (the whole listing held at once).
func cmdOfficialLoop(args []string) error {
	fs := flag.NewFlagSet("bench official-loop", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "emulator endpoint")
	collectOnly := fs.Bool("collect-only", false, "list and select, cancel nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := newOfficial(*endpoint)
	if err != nil {
		return err
	}
	all, err := officialListAll(c)
	if err != nil {
		return err
	}
	ids := staleIDs(all, time.Now())
	rep := childReport{Listed: len(all), Selected: len(ids)}
	if !*collectOnly {
		for _, id := range ids {
			if err := officialCancelCall(c, id); err != nil {
				rep.Failed++
				continue
			}
			rep.Cancelled++
		}
	}
	return json.NewEncoder(os.Stdout).Encode(rep)
}
