package awsfmt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
)

// CodeBuildProjectFileName is where `aws render` writes the CodeBuild
// project, and where the local build looks for its environment variables.
const CodeBuildProjectFileName = "aws/codebuild-project.json"

// BuildVariable is one of a CodeBuild project's environment variables.
type BuildVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Type is PLAINTEXT (zero), PARAMETER_STORE or SECRETS_MANAGER; for the
	// last two, Value names where CodeBuild fetches the value.
	Type string `json:"type,omitempty"`
}

// Build variable types, CodeBuild's words.
const (
	VariablePlaintext      = "PLAINTEXT"
	VariableParameterStore = "PARAMETER_STORE"
	VariableSecretsManager = "SECRETS_MANAGER"
)

// BuildProjectVariables are the environment variables canaryflow's
// CodeBuild project gives the buildspec RenderBuildspec writes: where to
// push, and the container the image definition names. `aws render` writes
// them and the local build sets them, so both read them from here.
func BuildProjectVariables(repositoryURI, container string) []BuildVariable {
	return []BuildVariable{
		{Name: "REPOSITORY_URI", Value: repositoryURI, Type: VariablePlaintext},
		{Name: "CONTAINER_NAME", Value: container, Type: VariablePlaintext},
	}
}

var buildVariableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseCodeBuildProject reads the environment variables of a CodeBuild
// project document (the input of `aws codebuild create-project`, as the
// guide's codebuild-project.json and canaryflow's aws/codebuild-project.json
// are). name is used in errors.
func ParseCodeBuildProject(name string, data []byte) ([]BuildVariable, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{Path: name, Msg: "empty file: want the JSON of a CodeBuild project"}
	}
	var doc struct {
		Environment *struct {
			EnvironmentVariables []BuildVariable `json:"environmentVariables"`
		} `json:"environment"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, jsonError(name, data, err)
	}
	if doc.Environment == nil {
		return nil, &Error{Path: name, Field: "environment", Msg: "missing: a CodeBuild project has an environment"}
	}
	vars := doc.Environment.EnvironmentVariables
	for i, v := range vars {
		field := fmt.Sprintf("environment.environmentVariables[%d]", i)
		if !buildVariableName.MatchString(v.Name) {
			return nil, &Error{Path: name, Line: lineOf(data, field), Field: field + ".name", Msg: fmt.Sprintf("%q is not a variable name", v.Name)}
		}
		switch v.Type {
		case "":
			vars[i].Type = VariablePlaintext
		case VariablePlaintext, VariableParameterStore, VariableSecretsManager:
		default:
			return nil, &Error{Path: name, Line: lineOf(data, field), Field: field + ".type",
				Msg: fmt.Sprintf("%q: want PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER", v.Type)}
		}
	}
	return vars, nil
}
