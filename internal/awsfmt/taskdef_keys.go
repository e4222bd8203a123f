package awsfmt

import (
	"fmt"
	"sort"
	"strings"
)

// taskDefKeys are the keys ECS accepts at the top of a task definition
// (register-task-definition input, plus describe-task-definition's output
// fields so a described definition can be saved and reused as it is).
var taskDefKeys = keySet(`family taskRoleArn executionRoleArn networkMode containerDefinitions
	volumes placementConstraints requiresCompatibilities cpu memory tags pidMode ipcMode
	proxyConfiguration inferenceAccelerators ephemeralStorage runtimePlatform enableFaultInjection
	taskDefinitionArn revision status requiresAttributes compatibilities registeredAt registeredBy
	deregisteredAt`)

// containerKeys are the keys ECS accepts in a container definition.
var containerKeys = keySet(`name image repositoryCredentials cpu memory memoryReservation links
	portMappings essential restartPolicy entryPoint command environment environmentFiles mountPoints
	volumesFrom linuxParameters secrets dependsOn startTimeout stopTimeout versionConsistency
	hostname user workingDirectory disableNetworking privileged readonlyRootFilesystem dnsServers
	dnsSearchDomains extraHosts dockerSecurityOptions interactive pseudoTerminal dockerLabels
	ulimits logConfiguration healthCheck systemControls resourceRequirements
	firelensConfiguration credentialSpecs`)

var portMappingKeys = keySet(`containerPort hostPort protocol name appProtocol containerPortRange`)

var environmentKeys = keySet(`name value`)

func keySet(s string) map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(s) {
		m[k] = true
	}
	return m
}

// unknownKeys reports keys ECS would reject, with a suggestion when one
// differs only in case or by a trailing "s".
func unknownKeys(doc map[string]any, fe func(field, format string, a ...any) error) []error {
	var errs []error
	check := func(base string, obj map[string]any, known map[string]bool, what string) {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if known[k] {
				continue
			}
			field := k
			if base != "" {
				field = base + "." + k
			}
			msg := fmt.Sprintf("unknown %s key %q", what, k)
			if s := suggest(k, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			errs = append(errs, fe(field, "%s", msg))
		}
	}
	check("", doc, taskDefKeys, "task definition")
	containers, _ := doc["containerDefinitions"].([]any)
	for i, c := range containers {
		obj, ok := c.(map[string]any)
		if !ok {
			errs = append(errs, fe(fmt.Sprintf("containerDefinitions[%d]", i), "want a JSON object"))
			continue
		}
		base := fmt.Sprintf("containerDefinitions[%d]", i)
		check(base, obj, containerKeys, "container definition")
		for key, known := range map[string]map[string]bool{"portMappings": portMappingKeys, "environment": environmentKeys} {
			list, _ := obj[key].([]any)
			for j, item := range list {
				if m, ok := item.(map[string]any); ok {
					check(fmt.Sprintf("%s.%s[%d]", base, key, j), m, known, key)
				}
			}
		}
	}
	return errs
}

func suggest(k string, known map[string]bool) string {
	lk := strings.ToLower(k)
	for cand := range known {
		lc := strings.ToLower(cand)
		if lc == lk || lc == lk+"s" || lc+"s" == lk {
			return cand
		}
	}
	return ""
}
