package aws

// Live holds the identifiers AWS assigns when resources are created (ARNs
// with random suffixes, discovered subnets). Render fills a document from
// Live when it knows a value and writes a named placeholder such as
// <PRODUCTION_LISTENER_ARN> when it does not; apply always knows them.
type Live struct {
	VPC                   string
	Subnets               []string
	ALBSecurityGroups     []string
	TaskSecurityGroups    []string
	LoadBalancerARN       string
	ProductionListenerARN string
	TestListenerARN       string
	ProductionRuleARN     string
	TestRuleARN           string
	BlueTargetGroupARN    string
	GreenTargetGroupARN   string
	ConnectionARN         string
}

// placeholders collects the placeholders a render had to use.
type placeholders map[string]bool

func (p placeholders) or(v, name string) string {
	if v != "" {
		return v
	}
	p[name] = true
	return "<" + name + ">"
}

func (p placeholders) orList(v []string, name string) []string {
	if len(v) > 0 {
		return v
	}
	p[name] = true
	return []string{"<" + name + ">"}
}
