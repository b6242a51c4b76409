// Package browser checks the bridge's status page in a real browser:
// headless Chromium, driven by chromedp, at a phone's width, while the
// bridge delivers, holds, loses NATS and restarts.
//
// It lives in the deploy module with the other tests that need a heavy
// dependency, so the bridge's own module never requires chromedp. The
// package holds only tests; this file carries its documentation.
package browser
