package aws

import (
	"encoding/json"
	"fmt"
)

// PolicyVersion is the IAM policy language version every document uses.
const PolicyVersion = "2012-10-17"

// PolicyDocument is an IAM policy: a trust policy (who may assume a role)
// or a permission policy (what the role may do).
type PolicyDocument struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a policy document.
type Statement struct {
	Sid       string                           `json:"Sid,omitempty"`
	Effect    string                           `json:"Effect"`
	Principal *Principal                       `json:"Principal,omitempty"`
	Action    StringList                       `json:"Action"`
	Resource  StringList                       `json:"Resource,omitempty"`
	Condition map[string]map[string]StringList `json:"Condition,omitempty"`
}

// Principal names the AWS services a trust policy lets assume the role.
type Principal struct {
	Service StringList `json:"Service,omitempty"`
	AWS     StringList `json:"AWS,omitempty"`
}

// UnmarshalJSON also accepts the principal "*".
func (p *Principal) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		p.AWS = StringList{s}
		return nil
	}
	type plain Principal
	return json.Unmarshal(b, (*plain)(p))
}

// StringList is a policy field that may be written as one string or a
// list of strings; it is rendered as a string when it has one element.
type StringList []string

// MarshalJSON writes one element as a plain string.
func (l StringList) MarshalJSON() ([]byte, error) {
	if len(l) == 1 {
		return json.Marshal(l[0])
	}
	return json.Marshal([]string(l))
}

// UnmarshalJSON accepts a string or a list of strings.
func (l *StringList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = StringList{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*l = ss
	return nil
}

// ParsePolicy reads a policy document.
func ParsePolicy(data []byte) (*PolicyDocument, error) {
	var p PolicyDocument
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("parse policy: %w", err)
	}
	return &p, nil
}

// trustPolicy lets one AWS service assume a role, only on behalf of this
// account (aws:SourceAccount guards against the confused deputy).
func trustPolicy(service, account string) PolicyDocument {
	return PolicyDocument{Version: PolicyVersion, Statement: []Statement{{
		Effect:    "Allow",
		Principal: &Principal{Service: StringList{service}},
		Action:    StringList{"sts:AssumeRole"},
		Condition: map[string]map[string]StringList{"StringEquals": {"aws:SourceAccount": {account}}},
	}}}
}

// passRole lets a role hand the given roles to one service only.
func passRole(sid, service string, roleARNs ...string) Statement {
	return Statement{
		Sid: sid, Effect: "Allow", Action: StringList{"iam:PassRole"}, Resource: roleARNs,
		Condition: map[string]map[string]StringList{"StringEquals": {"iam:PassedToService": {service}}},
	}
}

func allow(sid string, actions []string, resources ...string) Statement {
	return Statement{Sid: sid, Effect: "Allow", Action: actions, Resource: resources}
}
