package aws

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codestarconnections"
	cstypes "github.com/aws/aws-sdk-go-v2/service/codestarconnections/types"
)

// ConnectionConsoleURL is the console page of one connection, where a
// person approves it ("Update pending connection"). AWS lets nobody
// approve a GitHub connection through the API: GitHub must see a person
// authorize the AWS Connector app.
func ConnectionConsoleURL(region, account, connectionARN string) string {
	id := connectionARN[strings.LastIndex(connectionARN, "/")+1:]
	return fmt.Sprintf("https://%s.console.aws.amazon.com/codesuite/settings/%s/%s/connections/%s?region=%s", region, account, region, id, region)
}

// connectionResource is the GitHub connection the pipeline's source uses.
// A given one (--connection-arn, aws.connection_arn) is used as it is and
// never created or deleted. Otherwise apply creates one named after the
// service, tagged, and it is found again by that name on the next run;
// while it waits for approval, plan shows it as a manual step and apply
// waits for it (ProvisionOptions.ConnectionWait) or stops with the page to
// approve it on.
func (p *Provisioner) connectionResource() resource {
	s, n := p.b.spec, p.b.names
	if s.ConnectionARN != "" {
		return resource{kind: "github connection", name: s.ConnectionARN,
			read: func(context.Context) (state, error) { return state{exists: true}, nil }}
	}
	c := p.c.Connections
	return resource{
		kind: "github connection", name: n.Connection,
		read: func(ctx context.Context) (state, error) {
			conn, err := p.findConnection(ctx)
			if err != nil || conn == nil {
				return state{}, err
			}
			arn := aws.ToString(conn.ConnectionArn)
			p.b.live.ConnectionARN = arn
			tags, err := c.ListTagsForResource(ctx, &codestarconnections.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
			if err != nil {
				return state{}, fmt.Errorf("list tags of %s: %w", arn, err)
			}
			st := state{exists: true, current: "status=" + string(conn.ConnectionStatus)}
			for _, t := range tags.Tags {
				st.managed = st.managed || aws.ToString(t.Key) == TagManagedBy
			}
			switch conn.ConnectionStatus {
			case cstypes.ConnectionStatusAvailable:
				st.current = "status=AVAILABLE"
			case cstypes.ConnectionStatusPending:
				st.pending = "waits for approval at " + ConnectionConsoleURL(s.Region, s.Account, arn)
			default:
				st.pending = fmt.Sprintf("is %s: delete it at %s and apply again", conn.ConnectionStatus, ConnectionConsoleURL(s.Region, s.Account, arn))
			}
			return st, nil
		},
		desired: func() string { return "status=AVAILABLE" },
		create: func(ctx context.Context) error {
			out, err := c.CreateConnection(ctx, &codestarconnections.CreateConnectionInput{
				ConnectionName: aws.String(n.Connection), ProviderType: cstypes.ProviderTypeGithub,
				Tags: []cstypes.Tag{{Key: aws.String(TagManagedBy), Value: aws.String("canaryflow")}, {Key: aws.String(TagService), Value: aws.String(s.Service)}},
			})
			if err != nil {
				return err
			}
			p.b.live.ConnectionARN = aws.ToString(out.ConnectionArn)
			return p.awaitConnection(ctx)
		},
		update: p.awaitConnection,
		remove: func(ctx context.Context) error {
			_, err := c.DeleteConnection(ctx, &codestarconnections.DeleteConnectionInput{ConnectionArn: aws.String(p.b.live.ConnectionARN)})
			return err
		},
	}
}

// findConnection returns the GitHub connection named after the service,
// or nil.
func (p *Provisioner) findConnection(ctx context.Context) (*cstypes.Connection, error) {
	in := &codestarconnections.ListConnectionsInput{ProviderTypeFilter: cstypes.ProviderTypeGithub}
	for {
		out, err := p.c.Connections.ListConnections(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list connections: %w", err)
		}
		for i, conn := range out.Connections {
			if aws.ToString(conn.ConnectionName) == p.b.names.Connection {
				return &out.Connections[i], nil
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return nil, nil
		}
		in.NextToken = out.NextToken
	}
}

// awaitConnection tells where to approve the connection, then waits for
// the approval up to ProvisionOptions.ConnectionWait, or at once returns
// ErrManualStep when there is no wait.
func (p *Provisioner) awaitConnection(ctx context.Context) error {
	s, arn := p.b.spec, p.b.live.ConnectionARN
	fmt.Fprintf(p.out, "        approve GitHub connection %s (only a person can):\n", arn)
	fmt.Fprintf(p.out, "          open %s\n", ConnectionConsoleURL(s.Region, s.Account, arn))
	fmt.Fprintf(p.out, "          choose \"Update pending connection\" and authorize AWS in GitHub (install the AWS Connector app on %s)\n", ownerOf(s.GitHubRepo))
	wait := p.opts.ConnectionWait
	if wait <= 0 {
		fmt.Fprintf(p.out, "        then run canaryflow aws apply again: it finds the connection by its name, %s\n", p.b.names.Connection)
		fmt.Fprintf(p.out, "        (or run apply with --wait-connection 15m to wait here; or pass --connection-arn %s)\n", arn)
		return fmt.Errorf("github connection %s is not approved yet: %w", arn, ErrManualStep)
	}
	clock, every := p.opts.Clock, p.opts.PollInterval
	if clock == nil {
		clock = realClock{}
	}
	if every <= 0 {
		every = 10 * time.Second
	}
	start := clock.Now()
	for {
		out, err := p.c.Connections.GetConnection(ctx, &codestarconnections.GetConnectionInput{ConnectionArn: aws.String(arn)})
		if err != nil {
			return fmt.Errorf("get connection %s: %w", arn, err)
		}
		status := cstypes.ConnectionStatus("")
		if out.Connection != nil {
			status = out.Connection.ConnectionStatus
		}
		waited := clock.Now().Sub(start).Round(time.Second)
		switch status {
		case cstypes.ConnectionStatusAvailable:
			fmt.Fprintf(p.out, "        approved after %s\n", waited)
			return nil
		case cstypes.ConnectionStatusPending:
		default:
			return fmt.Errorf("github connection %s is %s: delete it in the console and apply again: %w", arn, status, ErrManualStep)
		}
		if waited >= wait {
			return fmt.Errorf("github connection %s still PENDING after %s; approve it, then apply again: %w", arn, wait, ErrManualStep)
		}
		fmt.Fprintf(p.out, "        waiting for approval: %s of %s\n", waited, wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-clock.After(every):
		}
	}
}

func ownerOf(repo string) string {
	if o, _, ok := strings.Cut(repo, "/"); ok {
		return o
	}
	return "your GitHub account"
}
