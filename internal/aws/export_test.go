package aws

import "testing"

// MotoForCLITest points the usual AWS environment (AWS_ENDPOINT_URL,
// credentials, region) at the package's moto_server behind the proxy
// that answers what moto lacks, for tests that run the canaryflow
// command itself; calls counts the requests the proxy checked against a
// service model, by operation.
func MotoForCLITest(t *testing.T) (calls func(op string) int) {
	t.Helper()
	srv, mp := newMotoProxy(t, startMoto(t))
	motoClients(t, srv.URL)
	return func(op string) int { return len(mp.called(op)) + len(mp.conns.called(op)) }
}
