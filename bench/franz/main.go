// Command franz-perf is `kprod perf`'s load with franz-go (kgo.Client): one
// goroutine calls Produce with a promise per record, as franz-go's own
// benchmark does.
//
// It takes the arguments of the other peer programs: --bootstrap-servers,
// --topic, --num-records, --record-size, --throughput, --key-cardinality and
// -X key=value, the Java client's property names mapped onto kgo options
// (see props below; a name it does not map is refused). It prints one JSON
// object with the keys of `kprod perf --json`.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const maxSamples = 500000

type stats struct {
	mu        sync.Mutex
	start     time.Time
	sampling  uint64
	delivered uint64
	bytes     uint64
	failed    uint64
	sumUs     uint64
	maxUs     uint64
	samples   []uint32
	firstErr  error
}

func (s *stats) done(sampled bool, sent time.Time, n int, err error) {
	us := uint64(time.Since(sent).Microseconds())
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.failed++
		if s.firstErr == nil {
			s.firstErr = err
		}
		return
	}
	s.delivered++
	s.bytes += uint64(n)
	s.sumUs += us
	if us > s.maxUs {
		s.maxUs = us
	}
	if sampled {
		s.samples = append(s.samples, uint32(min(us, math.MaxUint32)))
	}
}

func die(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "franz-perf: "+format+"\n", a...)
	os.Exit(2)
}

// props maps Java property names onto kgo options.
func props(kv map[string]string) []kgo.Opt {
	// kgo compresses with snappy unless told otherwise; Java, librdkafka and
	// the others send uncompressed unless compression.type says so. A
	// compression.type below overrides this (the last option wins).
	opts := []kgo.Opt{kgo.ProducerBatchCompression(kgo.NoCompression())}
	idempotent := true
	for k, v := range kv {
		num := func() int64 {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				die("%s=%s: not a number", k, v)
			}
			return n
		}
		switch k {
		case "acks":
			switch v {
			case "all", "-1":
				opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
			case "1":
				opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
			case "0":
				opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
			default:
				die("acks=%s", v)
			}
		case "enable.idempotence":
			idempotent = v == "true"
		case "linger.ms":
			opts = append(opts, kgo.ProducerLinger(time.Duration(num())*time.Millisecond))
		case "batch.size":
			opts = append(opts, kgo.ProducerBatchMaxBytes(int32(num())))
		case "buffer.memory":
			// Java bounds the bytes buffered only; kgo also bounds the
			// records (10,000 by default), which Java does not.
			opts = append(opts, kgo.MaxBufferedBytes(int(num())), kgo.MaxBufferedRecords(math.MaxInt32))
		case "compression.type":
			codec := map[string]kgo.CompressionCodec{
				"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
				"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
			}[v]
			opts = append(opts, kgo.ProducerBatchCompression(codec))
		case "max.in.flight.requests.per.connection":
			opts = append(opts, kgo.MaxProduceRequestsInflightPerBroker(int(num())))
		default:
			die("property %s is not mapped onto a kgo option", k)
		}
	}
	if !idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	return opts
}

func main() {
	var bootstrap, topic string
	var numRecords, keyCardinality uint64
	recordSize := 100
	throughput := -1.0
	kv := map[string]string{}
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		flag := args[i]
		if flag == "--json" {
			continue
		}
		if i+1 >= len(args) {
			die("%s needs a value", flag)
		}
		i++
		v := args[i]
		var err error
		switch flag {
		case "-b", "--bootstrap-servers":
			bootstrap = v
		case "-t", "--topic":
			topic = v
		case "--num-records":
			numRecords, err = strconv.ParseUint(v, 10, 64)
		case "--record-size":
			recordSize, err = strconv.Atoi(v)
		case "--throughput":
			throughput, err = strconv.ParseFloat(v, 64)
		case "--key-cardinality":
			keyCardinality, err = strconv.ParseUint(v, 10, 64)
		case "-X":
			k, val, ok := strings.Cut(v, "=")
			if !ok {
				die("-X takes key=value")
			}
			kv[k] = val
		default:
			die("unknown argument %s", flag)
		}
		if err != nil {
			die("%s %s: %v", flag, v, err)
		}
	}
	if bootstrap == "" || topic == "" || numRecords == 0 {
		die("--bootstrap-servers, --topic and --num-records are needed")
	}
	opts := append([]kgo.Opt{kgo.SeedBrokers(strings.Split(bootstrap, ",")...), kgo.DefaultProduceTopic(topic)}, props(kv)...)
	client, err := kgo.NewClient(opts...)
	if err != nil {
		die("%v", err)
	}
	payload := make([]byte, recordSize)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range payload {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		payload[i] = 'A' + byte(x%26)
	}
	s := &stats{start: time.Now(), sampling: max(numRecords/maxSamples, 1)}
	s.samples = make([]uint32, 0, min(numRecords, maxSamples))
	ctx := context.Background()
	var perRecord time.Duration
	if throughput > 0 {
		perRecord = time.Duration(float64(time.Second) / throughput)
	}
	for i := uint64(0); i < numRecords; i++ {
		if perRecord > 0 {
			if wait := time.Until(s.start.Add(perRecord * time.Duration(i))); wait > 50*time.Microsecond {
				time.Sleep(wait)
			}
		}
		rec := &kgo.Record{Value: payload}
		if keyCardinality > 0 {
			rec.Key = strconv.AppendUint(nil, i%keyCardinality, 10)
		}
		sampled := i%s.sampling == 0
		sent := time.Now()
		client.Produce(ctx, rec, func(r *kgo.Record, err error) { s.done(sampled, sent, len(r.Value), err) })
	}
	if err := client.Flush(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "franz-perf: flush: %v\n", err)
	}
	elapsed := time.Since(s.start).Seconds()
	client.Close()
	s.mu.Lock()
	sort.Slice(s.samples, func(a, b int) bool { return s.samples[a] < s.samples[b] })
	pct := func(p float64) float64 {
		if len(s.samples) == 0 {
			return 0
		}
		return float64(s.samples[min(int(p*float64(len(s.samples))), len(s.samples)-1)]) / 1000
	}
	avg := 0.0
	if s.delivered > 0 {
		avg = float64(s.sumUs) / float64(s.delivered) / 1000
	}
	if s.firstErr != nil {
		fmt.Fprintf(os.Stderr, "first failure: %v\n", s.firstErr)
	}
	out, _ := json.Marshal(map[string]any{
		"records": s.delivered, "records_attempted": numRecords,
		"records_per_sec": float64(s.delivered) / elapsed, "mb_per_sec": float64(s.bytes) / elapsed / (1 << 20),
		"latency_avg_ms": avg, "latency_p50_ms": pct(0.5), "latency_p95_ms": pct(0.95), "latency_p99_ms": pct(0.99),
		"latency_p999_ms": pct(0.999), "latency_max_ms": float64(s.maxUs) / 1000, "failed": s.failed, "elapsed_s": elapsed,
	})
	fmt.Println(string(out))
	if s.failed > 0 {
		os.Exit(1)
	}
}
