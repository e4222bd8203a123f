package aws

// resources lists every resource in the order apply creates them: each
// one only refers to resources before it (roles before what assumes them,
// the network before the load balancer, target groups before listeners,
// listeners before the service and the deployment group, everything before
// the pipeline). Destroy walks the list backwards.
func (p *Provisioner) resources(image string) []resource {
	s := p.b.spec
	var list []resource
	list = append(list, p.networkResource())
	for _, r := range p.b.names.Roles() {
		list = append(list, p.roleResource(r))
	}
	list = append(list, p.bucketResource(), p.repositoryResource())
	if len(s.SecurityGroups) == 0 {
		list = append(list, p.securityGroupResource(true), p.securityGroupResource(false))
	}
	list = append(list, p.targetGroupResource(0), p.targetGroupResource(1), p.loadBalancerResource(),
		p.listenerResource(false), p.listenerResource(true))
	if s.Controller == ControllerECS {
		list = append(list, p.listenerRuleResource(false), p.listenerRuleResource(true))
	}
	for i := range p.b.alarms() {
		list = append(list, p.alarmResource(i))
	}
	list = append(list, p.clusterResource(), p.taskDefinitionResource(image), p.serviceResource())
	if s.Controller == ControllerCodeDeploy {
		list = append(list, p.applicationResource())
		if p.b.deploymentConfig() != nil {
			list = append(list, p.deploymentConfigResource())
		}
		list = append(list, p.deploymentGroupResource())
	}
	list = append(list, p.buildProjectResource(), p.connectionResource(), p.pipelineResource())
	return list
}
