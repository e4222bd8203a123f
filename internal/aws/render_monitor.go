package aws

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// arnSuffix is the part of an ELB ARN CloudWatch uses as a dimension
// ("targetgroup/name/id", "app/name/id").
func arnSuffix(arn, marker string) string {
	if i := strings.Index(arn, ":"+marker); i >= 0 {
		return arn[i+1:]
	}
	if i := strings.Index(arn, "loadbalancer/"); i >= 0 && marker == "app/" {
		return arn[i+len("loadbalancer/"):]
	}
	return arn
}

// alarms are the CloudWatch alarms on the green target group: the 5xx
// share of its requests and, when the spec sets a p99 latency, its p99
// response time (as locally, where zero means no latency alarm). The deployment group
// (or the ECS service) names them, so a breach stops the deployment and
// rolls back.
func (b *blueprint) alarms() []*cloudwatch.PutMetricAlarmInput {
	s, n, l := b.spec, b.names, b.live
	if s.Alarms.Disabled {
		return nil
	}
	a := s.Alarms
	lbDim := cwtypes.Dimension{Name: aws.String("LoadBalancer"), Value: aws.String(arnSuffix(b.ph.or(l.LoadBalancerARN, "LOAD_BALANCER_ARN"), "app/"))}
	tgDim := cwtypes.Dimension{Name: aws.String("TargetGroup"), Value: aws.String(arnSuffix(b.ph.or(l.GreenTargetGroupARN, "GREEN_TARGET_GROUP_ARN"), "targetgroup/"))}
	dims := []cwtypes.Dimension{tgDim, lbDim}
	period := aws.Int32(int32(a.Period / time.Second))
	metric := func(id, name string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), ReturnData: aws.Bool(false), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String(name), Dimensions: dims},
			Period: period, Stat: aws.String("Sum"),
		}}
	}
	tags := []cwtypes.Tag{{Key: aws.String(TagManagedBy), Value: aws.String("canaryflow")}, {Key: aws.String(TagService), Value: aws.String(s.Service)}}
	errorRate := &cloudwatch.PutMetricAlarmInput{
		AlarmName:        aws.String(n.Alarm5xx),
		AlarmDescription: aws.String(fmt.Sprintf("5xx responses from green are at least %v%% of its requests (periods with fewer than %d requests count as 0)", a.ErrorRatePercent, a.MinRequests)),
		Metrics: []cwtypes.MetricDataQuery{
			metric("errors", "HTTPCode_Target_5XX_Count"),
			metric("requests", "RequestCount"),
			{Id: aws.String("rate"), Label: aws.String("green 5xx %"), ReturnData: aws.Bool(true),
				Expression: aws.String(fmt.Sprintf("IF(requests >= %d, 100 * FILL(errors, 0) / requests, 0)", a.MinRequests))},
		},
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
		Threshold:          aws.Float64(a.ErrorRatePercent),
		EvaluationPeriods:  aws.Int32(int32(a.EvaluationPeriods)),
		DatapointsToAlarm:  aws.Int32(int32(a.DatapointsToAlarm)),
		TreatMissingData:   aws.String("notBreaching"),
		Tags:               tags,
	}
	if a.P99Latency <= 0 {
		return []*cloudwatch.PutMetricAlarmInput{errorRate}
	}
	latency := &cloudwatch.PutMetricAlarmInput{
		AlarmName:          aws.String(n.AlarmLatency),
		AlarmDescription:   aws.String(fmt.Sprintf("green's p99 response time is above %s", a.P99Latency)),
		Namespace:          aws.String("AWS/ApplicationELB"),
		MetricName:         aws.String("TargetResponseTime"),
		Dimensions:         dims,
		ExtendedStatistic:  aws.String("p99"),
		Period:             period,
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		Threshold:          aws.Float64(a.P99Latency.Seconds()),
		Unit:               cwtypes.StandardUnitSeconds,
		EvaluationPeriods:  aws.Int32(int32(a.EvaluationPeriods)),
		DatapointsToAlarm:  aws.Int32(int32(a.DatapointsToAlarm)),
		TreatMissingData:   aws.String("notBreaching"),
		Tags:               tags,
	}
	return []*cloudwatch.PutMetricAlarmInput{errorRate, latency}
}

// alarmNames are the names of the alarms the deployment watches.
func (b *blueprint) alarmNames() []string {
	var names []string
	for _, a := range b.alarms() {
		names = append(names, aws.ToString(a.AlarmName))
	}
	return names
}

// targetGroups are the blue and green target groups, with the spec's
// health check.
func (b *blueprint) targetGroups() []*elbv2.CreateTargetGroupInput {
	s, n, l := b.spec, b.names, b.live
	h := s.HealthCheck
	tg := func(name string) *elbv2.CreateTargetGroupInput {
		return &elbv2.CreateTargetGroupInput{
			Name:                       aws.String(name),
			Protocol:                   elbtypes.ProtocolEnumHttp,
			Port:                       aws.Int32(int32(s.Port)),
			VpcId:                      aws.String(b.ph.or(l.VPC, "VPC_ID")),
			TargetType:                 elbtypes.TargetTypeEnumIp,
			HealthCheckProtocol:        elbtypes.ProtocolEnumHttp,
			HealthCheckPath:            aws.String(h.Path),
			HealthCheckIntervalSeconds: aws.Int32(int32(h.Interval / time.Second)),
			HealthCheckTimeoutSeconds:  aws.Int32(int32(h.Timeout / time.Second)),
			HealthyThresholdCount:      aws.Int32(int32(h.HealthyThreshold)),
			UnhealthyThresholdCount:    aws.Int32(int32(h.UnhealthyThreshold)),
			Matcher:                    &elbtypes.Matcher{HttpCode: aws.String(h.Matcher)},
			Tags:                       b.elbTags(),
		}
	}
	return []*elbv2.CreateTargetGroupInput{tg(n.BlueTargetGroup), tg(n.GreenTargetGroup)}
}

func (b *blueprint) elbTags() []elbtypes.Tag {
	return []elbtypes.Tag{{Key: aws.String(TagManagedBy), Value: aws.String("canaryflow")}, {Key: aws.String(TagService), Value: aws.String(b.spec.Service)}}
}

// LifecyclePolicy is the ECR lifecycle policy: untagged images go after a
// day, and only the newest keep images stay (the guide's cost advice).
type LifecyclePolicy struct {
	Rules []LifecycleRule `json:"rules"`
}

// LifecycleRule is one ECR lifecycle rule.
type LifecycleRule struct {
	RulePriority int             `json:"rulePriority"`
	Description  string          `json:"description"`
	Selection    LifecycleSelect `json:"selection"`
	Action       struct {
		Type string `json:"type"`
	} `json:"action"`
}

// LifecycleSelect selects images for a lifecycle rule.
type LifecycleSelect struct {
	TagStatus   string `json:"tagStatus"`
	CountType   string `json:"countType"`
	CountUnit   string `json:"countUnit,omitempty"`
	CountNumber int    `json:"countNumber"`
}

// lifecyclePolicy keeps the newest keep images.
func lifecyclePolicy(keep int) []byte {
	p := LifecyclePolicy{Rules: []LifecycleRule{
		{RulePriority: 1, Description: "expire untagged images after 1 day",
			Selection: LifecycleSelect{TagStatus: "untagged", CountType: "sinceImagePushed", CountUnit: "days", CountNumber: 1}},
		{RulePriority: 2, Description: "keep the newest " + strconv.Itoa(keep) + " images",
			Selection: LifecycleSelect{TagStatus: "any", CountType: "imageCountMoreThan", CountNumber: keep}},
	}}
	for i := range p.Rules {
		p.Rules[i].Action.Type = "expire"
	}
	out, _ := json.MarshalIndent(p, "", "  ") // plain structs cannot fail
	return append(out, '\n')
}
