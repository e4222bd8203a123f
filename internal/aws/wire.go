package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// errCaptured stops a request after its body has been serialized.
var errCaptured = errors.New("request captured, not sent")

// captureClient is an HTTP client that keeps the request body and sends
// nothing.
type captureClient struct{ body []byte }

func (c *captureClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		c.body = b
	}
	return nil, errCaptured
}

// wireJSON renders a request of one of the JSON-protocol services (ECS,
// CodeDeploy, CodePipeline, CodeBuild) with the SDK's own serializer: the
// body it would send is, member for member, what the AWS CLI accepts as
// --cli-input-json. The SDK's client-side validation runs first, so a
// request missing a required member fails here, not in the account.
func wireJSON(invoke func(ctx context.Context, hc aws.HTTPClient) error) ([]byte, error) {
	c := &captureClient{}
	err := invoke(context.Background(), c)
	if !errors.Is(err, errCaptured) {
		if err == nil {
			err = errors.New("the client sent no request")
		}
		return nil, err
	}
	// Decode and encode again: maps come out sorted, so a render is
	// byte-for-byte stable whatever order the serializer wrote them in.
	dec := json.NewDecoder(bytes.NewReader(c.body))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(tree); err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return out.Bytes(), nil
}

// The clients wireJSON uses: no credentials, no retries, any region.
func ecsWire(hc aws.HTTPClient) *ecs.Client {
	return ecs.New(ecs.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, HTTPClient: hc, Retryer: aws.NopRetryer{}})
}

func codeDeployWire(hc aws.HTTPClient) *codedeploy.Client {
	return codedeploy.New(codedeploy.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, HTTPClient: hc, Retryer: aws.NopRetryer{}})
}

func pipelineWire(hc aws.HTTPClient) *codepipeline.Client {
	return codepipeline.New(codepipeline.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, HTTPClient: hc, Retryer: aws.NopRetryer{}})
}

func buildWire(hc aws.HTTPClient) *codebuild.Client {
	return codebuild.New(codebuild.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, HTTPClient: hc, Retryer: aws.NopRetryer{}})
}

// wireDoc renders one JSON-protocol request by its Go type.
func wireDoc(in any) ([]byte, error) {
	return wireJSON(func(ctx context.Context, hc aws.HTTPClient) error {
		var err error
		switch v := in.(type) {
		case *ecs.RegisterTaskDefinitionInput:
			_, err = ecsWire(hc).RegisterTaskDefinition(ctx, v)
		case *ecs.CreateServiceInput:
			_, err = ecsWire(hc).CreateService(ctx, v)
		case *codedeploy.CreateDeploymentGroupInput:
			_, err = codeDeployWire(hc).CreateDeploymentGroup(ctx, v)
		case *codedeploy.CreateDeploymentConfigInput:
			_, err = codeDeployWire(hc).CreateDeploymentConfig(ctx, v)
		case *codepipeline.CreatePipelineInput:
			_, err = pipelineWire(hc).CreatePipeline(ctx, v)
		case *codebuild.CreateProjectInput:
			_, err = buildWire(hc).CreateProject(ctx, v)
		default:
			return fmt.Errorf("render %T: not a JSON-protocol request", in)
		}
		return err
	})
}
