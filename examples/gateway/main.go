// Command gateway serves a frontend and load-balances /api/ over backends.
//
// SKELETON: issue 5 replaces this with the program ../shared/gateway-cli.md
// specifies.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/frontdoor-go/frontdoor"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
	mux := frontdoor.NewMux()
	fmt.Printf("listening on http://%s\n", ln.Addr())
	_ = http.Serve(ln, mux)
}
