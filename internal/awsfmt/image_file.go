package awsfmt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// ParseImageDetail reads imageDetail.json, the file CodeDeployToECS takes
// the built image from: {"ImageURI": "<repository>:<tag>"}.
func ParseImageDetail(name string, data []byte) (string, error) {
	var doc struct {
		ImageURI string `json:"ImageURI"`
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return "", &Error{Path: name, Msg: `empty file: want {"ImageURI": "<repository>:<tag>"}`}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return "", jsonError(name, data, err)
	}
	if strings.TrimSpace(doc.ImageURI) == "" {
		return "", &Error{Path: name, Field: "ImageURI", Msg: `missing: want {"ImageURI": "<repository>:<tag>"}`}
	}
	return doc.ImageURI, nil
}

// ParseImageDefinitions reads imagedefinitions.json, the file the ECS
// deploy action takes images from ([{"name": container, "imageUri": …}]),
// and returns the image of the named container.
func ParseImageDefinitions(name string, data []byte, container string) (string, error) {
	var defs []struct {
		Name     string `json:"name"`
		ImageURI string `json:"imageUri"`
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return "", &Error{Path: name, Msg: `empty file: want [{"name": "<container>", "imageUri": "<repository>:<tag>"}]`}
	}
	if err := json.Unmarshal(data, &defs); err != nil {
		return "", jsonError(name, data, err)
	}
	var names []string
	for i, d := range defs {
		if d.Name != container {
			names = append(names, fmt.Sprintf("%q", d.Name))
			continue
		}
		if strings.TrimSpace(d.ImageURI) == "" {
			f := fmt.Sprintf("[%d].imageUri", i)
			return "", &Error{Path: name, Line: lineOf(data, f), Field: f, Msg: "missing"}
		}
		return d.ImageURI, nil
	}
	return "", &Error{Path: name, Msg: fmt.Sprintf("no entry for container %q (found %s): name the container service.container.name says, or set service.container.name to the one the buildspec writes",
		container, orNone(strings.Join(names, ", ")))}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
