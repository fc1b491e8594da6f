package taxii

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// Client reads from a TAXII 2.1 server. The zero value uses
// http.DefaultClient without credentials.
type Client struct {
	HTTP *http.Client
	// Token is sent as "Authorization: Bearer <Token>"; with Username it is
	// sent as HTTP Basic's password instead.
	Token    string
	Username string
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// get fetches u and decodes its TAXII resource into v (bounded by max). It
// returns the response's headers.
func (c *Client) get(ctx context.Context, u string, max int64, what string, v any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, tansa.Errorf(tansa.Invalid, "%s: %v", what, err)
	}
	req.Header.Set("Accept", MediaType)
	switch {
	case c.Username != "":
		req.SetBasicAuth(c.Username, c.Token)
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	res, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var e Error
		msg := ""
		if IsTAXII(res.Header.Get("Content-Type")) && decode(res.Body, MaxResource, what+" error", &e) == nil {
			msg = ": " + strings.TrimSpace(e.Title+" "+e.Description)
		}
		kind := tansa.Unavailable
		switch res.StatusCode {
		case http.StatusUnauthorized:
			kind = tansa.Unauthorized
		case http.StatusForbidden:
			kind = tansa.Forbidden
		case http.StatusNotFound:
			kind = tansa.NotFound
		}
		return nil, tansa.Errorf(kind, "%s: %s answered %s%s", what, u, res.Status, msg)
	}
	if ct := res.Header.Get("Content-Type"); !IsTAXII(ct) {
		return nil, tansa.Errorf(tansa.Invalid, "%s: %s answered Content-Type %q, not %s", what, u, ct, MediaType)
	}
	return res.Header, decode(res.Body, max, what+" from "+u, v)
}

// Discover reads the discovery resource at u (".../taxii2/").
func (c *Client) Discover(ctx context.Context, u string) (Discovery, error) {
	var d Discovery
	_, err := c.get(ctx, u, MaxResource, "taxii discovery", &d)
	return d, err
}

// APIRoot reads the API root at u.
func (c *Client) APIRoot(ctx context.Context, u string) (APIRoot, error) {
	var r APIRoot
	_, err := c.get(ctx, u, MaxResource, "taxii api root", &r)
	return r, err
}

// Collections lists the collections of the API root at root.
func (c *Client) Collections(ctx context.Context, root string) ([]Collection, error) {
	var cs Collections
	if _, err := c.get(ctx, Join(root, "collections/"), MaxResource, "taxii collections", &cs); err != nil {
		return nil, err
	}
	for i, col := range cs.Collections {
		if col.ID == "" || strings.ContainsAny(col.ID, "/?#") {
			return nil, tansa.Errorf(tansa.Invalid, "taxii collections from %s: collection %d has id %q", root, i+1, col.ID)
		}
	}
	return cs.Collections, nil
}

// Page is one page of objects with the dates the server reported.
type Page struct {
	Objects []json.RawMessage
	// First and Last are X-TAXII-Date-Added-First/Last; zero when the
	// server sent none.
	First, Last time.Time
}

// MaxPages bounds the pages one Objects call reads, so a server that
// always says "more" cannot keep a pull running for ever.
const MaxPages = 1000

// Objects reads the objects of the collection at collection (its URL,
// ending in "/collections/{id}/") added after addedAfter (zero: all),
// limit per page (0: the server's choice), following "next" while the
// server says there is more, and calls fn with each page. It returns the
// latest date added the server reported, the cursor for the next pull.
func (c *Client) Objects(ctx context.Context, collection string, addedAfter time.Time, limit int, fn func(Page) error) (time.Time, error) {
	last := addedAfter
	next := ""
	for i := 0; ; i++ {
		if i == MaxPages {
			return last, tansa.Errorf(tansa.TooLarge, "taxii objects from %s: more than %d pages", collection, MaxPages)
		}
		q := url.Values{}
		if !addedAfter.IsZero() {
			q.Set("added_after", FormatTime(addedAfter))
		}
		if limit > 0 {
			q.Set("limit", strconv.Itoa(limit))
		}
		if next != "" {
			q.Set("next", next)
		}
		u := Join(collection, "objects/")
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		var env Envelope
		h, err := c.get(ctx, u, MaxEnvelope, "taxii objects", &env)
		if err != nil {
			return last, err
		}
		p := Page{Objects: env.Objects}
		for _, x := range []struct {
			name string
			t    *time.Time
		}{{"X-TAXII-Date-Added-First", &p.First}, {"X-TAXII-Date-Added-Last", &p.Last}} {
			if v := h.Get(x.name); v != "" {
				t, err := ParseTime(v)
				if err != nil {
					return last, tansa.Errorf(tansa.Invalid, "taxii objects from %s: header %s: %v", u, x.name, err)
				}
				*x.t = t
			}
		}
		if len(env.Objects) > 0 {
			if err := fn(p); err != nil {
				return last, err
			}
		}
		if p.Last.After(last) {
			last = p.Last
		}
		if !env.More || len(env.Objects) == 0 {
			return last, nil
		}
		if env.Next != "" {
			next = env.Next
		} else if p.Last.After(addedAfter) {
			// TAXII 2.1 servers may page by added_after alone.
			addedAfter, next = p.Last, ""
		} else {
			return last, tansa.Errorf(tansa.Invalid, "taxii objects from %s: more=true without next or a later X-TAXII-Date-Added-Last", u)
		}
	}
}

// Join appends a relative path to a TAXII URL, which always ends in "/".
func Join(base, rel string) string {
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return base + rel
}

// CollectionsOf resolves a feed's source URL to collection URLs: a
// collection URL (".../collections/{id}/") is itself; a discovery URL
// leads to its default API root (else its first) and that root's readable
// collections; an API root URL to its readable collections.
func (c *Client) CollectionsOf(ctx context.Context, u string) ([]string, error) {
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "http" && pu.Scheme != "https" || pu.Host == "" {
		return nil, tansa.Errorf(tansa.Invalid, "taxii source %q: want an http(s) URL", u)
	}
	segs := strings.Split(strings.Trim(pu.Path, "/"), "/")
	if len(segs) >= 2 && segs[len(segs)-2] == "collections" {
		return []string{Join(u, "")}, nil
	}
	root := u
	if d, err := c.Discover(ctx, u); err == nil && (d.Default != "" || len(d.APIRoots) > 0) {
		root = d.Default
		if root == "" {
			root = d.APIRoots[0]
		}
		r, err := url.Parse(root)
		if err != nil {
			return nil, tansa.Errorf(tansa.Invalid, "taxii discovery at %s: api root %q: %v", u, root, err)
		}
		root = pu.ResolveReference(r).String()
	}
	cs, err := c.Collections(ctx, root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, col := range cs {
		if col.CanRead {
			out = append(out, Join(root, "collections/"+url.PathEscape(col.ID)+"/"))
		}
	}
	if len(out) == 0 {
		return nil, tansa.Errorf(tansa.NotFound, "taxii api root %s: no collection this credential may read", root)
	}
	return out, nil
}
