package aws

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codestarconnections"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
)

// ClientOptions choose the account and endpoint. Zero fields defer to the
// SDK's usual sources: AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL (and
// AWS_ENDPOINT_URL_<SERVICE>), the shared config and credentials files.
type ClientOptions struct {
	Region  string
	Profile string
	// Endpoint overrides every service's endpoint (as AWS_ENDPOINT_URL does).
	Endpoint string
	// HTTPClient replaces the SDK's HTTP client; nil keeps it.
	HTTPClient aws.HTTPClient
}

// Clients are the AWS service clients canaryflow uses, built from one
// configuration.
type Clients struct {
	Config       aws.Config
	STS          *sts.Client
	EC2          *ec2.Client
	IAM          *iam.Client
	S3           *s3.Client
	ECR          *ecr.Client
	ECS          *ecs.Client
	ELB          *elbv2.Client
	CloudWatch   *cloudwatch.Client
	CodeDeploy   *codedeploy.Client
	CodeBuild    *codebuild.Client
	CodePipeline *codepipeline.Client
	Connections  *codestarconnections.Client
}

// NewClients loads the AWS configuration the way every AWS SDK does and
// builds the clients.
func NewClients(ctx context.Context, o ClientOptions) (*Clients, error) {
	// The SDK's own log lines (such as "WARN falling back to IMDSv1") never
	// reach the terminal: what goes wrong comes back as an error, which
	// Explain puts in one line.
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{}), config.WithClientLogMode(0)}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(o.Endpoint))
	}
	if o.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(o.HTTPClient))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	// A local endpoint (moto, LocalStack) serves S3 on one host: address
	// buckets by path rather than by subdomain.
	pathStyle := o.Endpoint != "" || os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
	return &Clients{
		Config:       cfg,
		STS:          sts.NewFromConfig(cfg),
		EC2:          ec2.NewFromConfig(cfg),
		IAM:          iam.NewFromConfig(cfg),
		S3:           s3.NewFromConfig(cfg, func(so *s3.Options) { so.UsePathStyle = pathStyle }),
		ECR:          ecr.NewFromConfig(cfg),
		ECS:          ecs.NewFromConfig(cfg),
		ELB:          elbv2.NewFromConfig(cfg),
		CloudWatch:   cloudwatch.NewFromConfig(cfg),
		CodeDeploy:   codedeploy.NewFromConfig(cfg),
		CodeBuild:    codebuild.NewFromConfig(cfg),
		CodePipeline: codepipeline.NewFromConfig(cfg),
		Connections:  codestarconnections.NewFromConfig(cfg),
	}, nil
}

// Region is the region the clients talk to.
func (c *Clients) Region() string { return c.Config.Region }

// Account returns the account the credentials belong to.
func (c *Clients) Account(ctx context.Context) (string, error) {
	out, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("get caller identity: %w", err)
	}
	return aws.ToString(out.Account), nil
}
