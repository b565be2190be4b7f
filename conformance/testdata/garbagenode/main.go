// Command garbagenode is a fake node for conformance/garbage_node_test.go: it honours the
// readiness part of the node contract (GET /healthz answers 200 {"status": "ok"}) and answers
// every other admin request with 200 and an HTML page, as a web server that is not a stableset
// node might. Nothing listens for QUIC. It exits with code 0 on SIGTERM (NC-7).
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	admin := os.Getenv("SSKIT_ADMIN")
	fmt.Println("garbage node: admin on", admin)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status": "ok"}`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>ok</html>")
	})
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	if err := http.ListenAndServe(admin, mux); err != nil {
		fmt.Fprintln(os.Stderr, "garbage node:", err)
		os.Exit(1)
	}
}
