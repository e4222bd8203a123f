package aws

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// bucketResource is the pipeline's artifact store: versioned, private,
// tagged.
func (p *Provisioner) bucketResource() resource {
	c, n := p.c.S3, p.b.names
	return resource{
		kind: "s3 bucket", name: n.Bucket,
		read: func(ctx context.Context) (state, error) {
			_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(n.Bucket)})
			if isCode(err, "NotFound", "NoSuchBucket") {
				return state{}, nil
			}
			if err != nil {
				return state{}, err
			}
			st := state{exists: true}
			tags, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(n.Bucket)})
			if err == nil {
				for _, t := range tags.TagSet {
					st.managed = st.managed || aws.ToString(t.Key) == TagManagedBy
				}
			} else if !isCode(err, "NoSuchTagSet") {
				return state{}, err
			}
			v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(n.Bucket)})
			if err != nil {
				return state{}, err
			}
			st.current = fingerprint("versioning", string(v.Status))
			return st, nil
		},
		desired: func() string { return fingerprint("versioning", string(s3types.BucketVersioningStatusEnabled)) },
		create: func(ctx context.Context) error {
			in := &s3.CreateBucketInput{Bucket: aws.String(n.Bucket)}
			if r := p.b.spec.Region; r != "us-east-1" {
				in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(r)}
			}
			if _, err := c.CreateBucket(ctx, in); err != nil {
				return err
			}
			if _, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(n.Bucket),
				PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true),
					IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}}); err != nil {
				return err
			}
			if _, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(n.Bucket), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
				{Key: aws.String(TagManagedBy), Value: aws.String("canaryflow")}, {Key: aws.String(TagService), Value: aws.String(p.b.spec.Service)}}}}); err != nil {
				return err
			}
			return p.enableVersioning(ctx)
		},
		update: p.enableVersioning,
		remove: func(ctx context.Context) error {
			// A bucket must be empty, every version of every object, to go.
			for {
				out, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(n.Bucket)})
				if err != nil {
					return err
				}
				var ids []s3types.ObjectIdentifier
				for _, v := range out.Versions {
					ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
				}
				for _, m := range out.DeleteMarkers {
					ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
				}
				if len(ids) == 0 {
					break
				}
				if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(n.Bucket), Delete: &s3types.Delete{Objects: ids}}); err != nil {
					return err
				}
			}
			_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(n.Bucket)})
			return err
		},
	}
}

func (p *Provisioner) enableVersioning(ctx context.Context) error {
	_, err := p.c.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(p.b.names.Bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
	return err
}

// repositoryResource is the ECR repository with its lifecycle policy.
func (p *Provisioner) repositoryResource() resource {
	c, n := p.c.ECR, p.b.names
	policy := string(lifecyclePolicy(p.b.spec.keepImages()))
	canon := func(s string) string {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return s
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	put := func(ctx context.Context) error {
		_, err := c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(n.Repository), LifecyclePolicyText: aws.String(policy)})
		return err
	}
	return resource{
		kind: "ecr repository", name: n.Repository,
		read: func(ctx context.Context) (state, error) {
			out, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{n.Repository}})
			if isCode(err, "RepositoryNotFoundException") {
				return state{}, nil
			}
			if err != nil {
				return state{}, err
			}
			st := state{exists: true}
			tags, err := c.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: out.Repositories[0].RepositoryArn})
			if err != nil {
				return state{}, err
			}
			for _, t := range tags.Tags {
				st.managed = st.managed || aws.ToString(t.Key) == TagManagedBy
			}
			lp, err := c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(n.Repository)})
			cur := ""
			if err == nil {
				cur = canon(aws.ToString(lp.LifecyclePolicyText))
			} else if !isCode(err, "LifecyclePolicyNotFoundException") {
				return state{}, err
			}
			st.current = fingerprint("lifecycle", cur)
			return st, nil
		},
		desired: func() string { return fingerprint("lifecycle", canon(policy)) },
		create: func(ctx context.Context) error {
			_, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{
				RepositoryName:             aws.String(n.Repository),
				ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true},
				Tags:                       []ecrtypes.Tag{{Key: aws.String(TagManagedBy), Value: aws.String("canaryflow")}, {Key: aws.String(TagService), Value: aws.String(p.b.spec.Service)}},
			})
			if err != nil {
				return err
			}
			return put(ctx)
		},
		update: put,
		remove: func(ctx context.Context) error {
			_, err := c.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(n.Repository), Force: true})
			return err
		},
	}
}
