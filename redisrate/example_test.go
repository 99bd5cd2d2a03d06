package redisrate_test

import (
	"io"
	"log"
	"net/http"
	"time"

	"github.com/frontdoor-go/frontdoor"
	"github.com/frontdoor-go/frontdoor/redisrate"
	"github.com/redis/go-redis/v9"
)

// Every gateway that runs this shares one limit per client IP: 10 requests
// a second with bursts of 20, counted in Redis. If Redis does not answer
// within 100 ms, the request passes and the gateway logs a warning. (The
// example needs a Redis, so it is compiled, not run.)
func ExampleNew() {
	client := redis.NewClient(&redis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		DialerRetries:         1,
	})
	defer client.Close()
	limiter, err := redisrate.New(client, 10, 20,
		redisrate.WithTimeout(100*time.Millisecond),
		redisrate.WithPrefix("shop:api:"))
	if err != nil {
		log.Fatal(err)
	}

	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux := frontdoor.NewMux()
	mux.Handle("/api", api, frontdoor.WithRateLimiter(limiter))
	log.Fatal(http.ListenAndServe(":8080", mux))
}

// Behind a Redis Cluster, the same limiter takes a ClusterClient; each
// client's bucket lives on the node its key hashes to.
func ExampleNew_cluster() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		DialerRetries:         1,
	})
	defer client.Close()
	limiter, err := redisrate.New(client, 10, 20, redisrate.WithFailClosed())
	if err != nil {
		log.Fatal(err)
	}

	mux := frontdoor.NewMux()
	mux.Handle("/api", http.NotFoundHandler(), frontdoor.WithRateLimiter(limiter))
	log.Fatal(http.ListenAndServe(":8080", mux))
}
