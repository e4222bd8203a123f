package proxycmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/router"
)

// newSetWeightCommand returns `proxy set-weight`, the admin endpoint's client
// for the one change made most often.
func newSetWeightCommand() *cobra.Command {
	var admin, token string
	cmd := &cobra.Command{
		Use:   "set-weight PERCENT",
		Short: "Change the green share of a running proxy",
		Long: `set-weight tells a running 'canaryflow proxy' (through its admin endpoint) to
send PERCENT of production traffic to green and the rest to blue. The change
is atomic: no request is dropped. PERCENT is 0-100 in 0.1 steps.

The bearer token is --admin-token, else $CANARYFLOW_ADMIN_TOKEN, else the
one the proxy wrote to <state dir>/proxy/admin-<host>-<port>.token for
that admin address.`,
		Example: `  canaryflow proxy set-weight --admin 127.0.0.1:8090 25`,
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			pm, err := router.ParsePercent(args[0])
			if err != nil {
				return usageErrorf("set-weight: %w", err)
			}
			if err := checkListenAddr(admin); err != nil {
				return usageErrorf("--admin: %w", err)
			}
			if token == "" {
				token = os.Getenv(AdminTokenEnv)
			}
			var noToken error // why no token was found, told when the proxy asks for one
			if token == "" {
				token, noToken = readTokenFile(admin)
			}
			w, err := setWeight(cmd.Context(), admin, token, pm)
			if errors.Is(err, errUnauthorized) && noToken != nil {
				return fmt.Errorf("%w; %w", err, noToken)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", w)
			return nil
		},
	}
	cmd.Flags().StringVar(&admin, "admin", "127.0.0.1:8090", "admin endpoint of the running proxy")
	cmd.Flags().StringVar(&token, "admin-token", "", "bearer token of the admin endpoint (default $"+AdminTokenEnv+", else the token file the proxy wrote for --admin)")
	return cmd
}

// errUnauthorized is returned when the admin endpoint refuses the token.
var errUnauthorized = errors.New("wrong or missing admin token")

// setWeight PUTs the green per-mille to the admin endpoint.
func setWeight(ctx context.Context, admin, token string, green int) (router.Weights, error) {
	body, _ := json.Marshal(router.WeightRequest{Green: &green})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+admin+"/weights", bytes.NewReader(body))
	if err != nil {
		return router.Weights{}, fmt.Errorf("set weight: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return router.Weights{}, fmt.Errorf("set weight: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusUnauthorized {
		return router.Weights{}, fmt.Errorf("set weight: admin answered %s: %w", resp.Status, errUnauthorized)
	}
	if resp.StatusCode != http.StatusOK {
		return router.Weights{}, fmt.Errorf("set weight: admin answered %s: %s", resp.Status, bytes.TrimSpace(data))
	}
	var w router.Weights
	if err := json.Unmarshal(data, &w); err != nil {
		return router.Weights{}, fmt.Errorf("set weight: decode answer: %w", err)
	}
	return w, nil
}
