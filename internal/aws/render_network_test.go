package aws

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// renderedIngress reads aws/security-group-alb-ingress.json as rendered
// for s: the rules as "PORT CIDR".
func renderedIngress(t *testing.T, s Spec) []string {
	t.Helper()
	dir, _ := renderTo(t, s, testLive())
	data, err := os.ReadFile(filepath.Join(dir, InfraDir, "security-group-alb-ingress.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		GroupId       string
		IpPermissions []struct {
			IpProtocol string
			FromPort   int
			ToPort     int
			IpRanges   []struct{ CidrIp string }
			Ipv6Ranges []struct{ CidrIpv6 string }
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	if doc.GroupId != "sg-0a1b2c3d" {
		t.Errorf("GroupId = %q", doc.GroupId)
	}
	var rules []string
	for _, p := range doc.IpPermissions {
		if p.IpProtocol != "tcp" || p.FromPort != p.ToPort {
			t.Errorf("permission %+v: want one tcp port", p)
		}
		for _, r := range p.IpRanges {
			rules = append(rules, strconv.Itoa(p.FromPort)+" "+r.CidrIp)
		}
		for _, r := range p.Ipv6Ranges {
			rules = append(rules, strconv.Itoa(p.FromPort)+" "+r.CidrIpv6)
		}
	}
	return rules
}

// TestRenderTestListenerClosedByDefault: the load balancer's group opens
// the production port to the internet and, unless test_listener_cidrs
// says otherwise, the test port to nobody.
func TestRenderTestListenerClosedByDefault(t *testing.T) {
	s := testSpec()
	s.ProductionPort, s.TestPort = 80, 8080
	if got := strings.Join(renderedIngress(t, s), "; "); got != "80 0.0.0.0/0" {
		t.Errorf("default ingress = %q, want only the production port", got)
	}
	s.TestListenerCIDRs = []string{"203.0.113.0/24", "2001:db8::/32"}
	if got := strings.Join(renderedIngress(t, s), "; "); got != "80 0.0.0.0/0; 8080 203.0.113.0/24; 8080 2001:db8::/32" {
		t.Errorf("opt-in ingress = %q", got)
	}
	s.SecurityGroups = []string{"sg-0123abcd"}
	dir, _ := renderTo(t, s, testLive())
	if _, err := os.Stat(filepath.Join(dir, InfraDir, "security-group-alb-ingress.json")); err == nil {
		t.Error("ingress rendered for security groups canaryflow does not create")
	}
	s.TestListenerCIDRs = []string{"0.0.0.0/0; x"}
	if _, err := Render(s, testLive()); err == nil || !strings.Contains(err.Error(), "test listener CIDR") {
		t.Errorf("bad CIDR: %v", err)
	}
}
