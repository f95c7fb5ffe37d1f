package loadgen

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzAnswers feeds arbitrary bytes from the target through the client's reading of an
// answer and the judging of it: nothing the target sends may panic or hang the tool.
func FuzzAnswers(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"success\":true}"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"ans\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 503 Busy\r\nConnection: close\r\n\r\nbusy"))
	f.Add([]byte(`{"artifactId":0,"userId":"x","answer":"yes"}`))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n{"))

	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		defer client.Close()
		go func() {
			_, _ = io.Copy(io.Discard, io.LimitReader(server, 1))
			_, _ = server.Write(data)
			server.Close()
		}()
		_ = client.SetDeadline(time.Now().Add(5 * time.Second))

		x := &exchange{request: []byte("x")}
		cn := &conn{nc: client, br: bufio.NewReader(client)}
		status, _, err := exchangeOn(cn, x)
		if err == nil {
			err = checkAnswer(status, x)
		}

		var exp expectation
		for _, o := range sequence {
			judge(o, pair{}, &x.answer, err, &exp)
		}

		var a answer
		if json.Unmarshal(data, &a) == nil {
			for _, o := range sequence {
				judge(o, pair{artifact: 1, user: 2}, &a, nil, &exp)
			}
		}
	})
}
