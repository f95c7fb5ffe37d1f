package components

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Component file constants, as daprd reads them.
const (
	// APIVersion is the only apiVersion a Component document may have.
	APIVersion = "dapr.io/v1alpha1"

	// KindComponent is the kind of the documents LoadDir reads; others are skipped.
	KindComponent = "Component"
)

// Component is a Dapr component definition (kind Component).
type Component struct {
	// Name is metadata.name, unique among the loaded components.
	Name string

	// Type is spec.type, such as "state.redis".
	Type string

	// Version is spec.version, such as "v1"; it may be empty.
	Version string

	// Metadata is spec.metadata, each value as a string ("6379", "true").
	Metadata map[string]string

	// Scopes lists the app IDs that may use the component; empty means all.
	Scopes []string
}

// InScope reports whether the app appID may use c.
func (c Component) InScope(appID string) bool {
	return len(c.Scopes) == 0 || slices.Contains(c.Scopes, appID)
}

// MetadataValue returns the value of the metadata entry called name, matched without
// regard to case as daprd does, and whether it is present.
func (c Component) MetadataValue(name string) (string, bool) {
	if v, ok := c.Metadata[name]; ok {
		return v, true
	}
	for k, v := range c.Metadata {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// componentDoc is the YAML shape of a component document.
type componentDoc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Type     string          `json:"type"`
		Version  string          `json:"version"`
		Metadata []metadataEntry `json:"metadata"`
	} `json:"spec"`
	Scopes []string `json:"scopes"`
}

// metadataEntry is one item of spec.metadata.
type metadataEntry struct {
	Name         string          `json:"name"`
	Value        any             `json:"value"`
	SecretKeyRef json.RawMessage `json:"secretKeyRef"`
}

// LoadDir reads the components defined in the *.yaml and *.yml files of dirs, in file
// name order. A file may hold several documents separated by "---"; documents of another
// kind (Configuration, Subscription, ...) are skipped. A missing directory is an error
// that matches fs.ErrNotExist.
func LoadDir(dirs ...string) ([]Component, error) {
	var comps []Component
	seen := map[string]string{} // component name -> file that defined it

	for _, dir := range dirs {
		files, err := componentFiles(dir)
		if err != nil {
			return nil, err
		}

		for _, file := range files {
			loaded, err := loadFile(file)
			if err != nil {
				return nil, err
			}
			for _, c := range loaded {
				if prev, ok := seen[c.Name]; ok {
					return nil, fmt.Errorf("component %q is defined in both %s and %s",
						c.Name, prev, file)
				}
				seen[c.Name] = file
				comps = append(comps, c)
			}
		}
	}
	return comps, nil
}

// componentFiles lists the YAML files directly in dir, sorted by name.
func componentFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read components directory: %w", err)
	}

	var files []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.Type().IsRegular() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	return files, nil
}

// loadFile parses the component documents of one file.
func loadFile(file string) ([]Component, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read component file: %w", err)
	}

	var comps []Component
	for i, doc := range splitDocuments(data) {
		c, ok, err := parseDocument(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, i+1, err)
		}
		if ok {
			comps = append(comps, c)
		}
	}
	return comps, nil
}

// splitDocuments splits a multi-document YAML stream at its "---" separator lines.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	start := 0
	offset := 0
	for line := range bytes.Lines(data) {
		if isDocumentSeparator(line) {
			docs = append(docs, data[start:offset])
			start = offset + len(line)
		}
		offset += len(line)
	}
	return append(docs, data[start:])
}

// isDocumentSeparator reports whether line starts a new YAML document.
func isDocumentSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	if !ok {
		return false
	}
	rest = bytes.TrimSpace(rest)
	return len(rest) == 0 || rest[0] == '#'
}

// parseDocument parses one YAML document. ok is false for an empty document or one that
// is not a Component.
func parseDocument(doc []byte) (c Component, ok bool, err error) {
	var d componentDoc
	if err := yaml.Unmarshal(doc, &d, useNumber); err != nil {
		return Component{}, false, fmt.Errorf("parse yaml: %w", err)
	}
	if d.Kind != KindComponent {
		return Component{}, false, nil
	}

	if d.APIVersion != APIVersion {
		return Component{}, false, fmt.Errorf("component %q: apiVersion %q, want %q",
			d.Metadata.Name, d.APIVersion, APIVersion)
	}
	if d.Metadata.Name == "" {
		return Component{}, false, errors.New("component has no metadata.name")
	}
	if d.Spec.Type == "" {
		return Component{}, false, fmt.Errorf("component %q has no spec.type", d.Metadata.Name)
	}

	md, err := metadataMap(d.Spec.Metadata)
	if err != nil {
		return Component{}, false, fmt.Errorf("component %q: %w", d.Metadata.Name, err)
	}
	c = Component{
		Name:     d.Metadata.Name,
		Type:     d.Spec.Type,
		Version:  d.Spec.Version,
		Metadata: md,
		Scopes:   d.Scopes,
	}
	return c, true, nil
}

// useNumber keeps numbers as written (json.Number) rather than float64, so that large
// integers such as a port or a byte count are not rounded.
func useNumber(d *json.Decoder) *json.Decoder {
	d.UseNumber()
	return d
}

// metadataMap turns spec.metadata into a map of string values.
func metadataMap(entries []metadataEntry) (map[string]string, error) {
	md := make(map[string]string, len(entries))
	for _, e := range entries {
		if e.Name == "" {
			return nil, errors.New("a spec.metadata entry has no name")
		}
		if len(e.SecretKeyRef) > 0 && string(e.SecretKeyRef) != "null" {
			return nil, fmt.Errorf("metadata %q: secretKeyRef is not supported; "+
				"give the value inline", e.Name)
		}

		v, err := metadataString(e.Value)
		if err != nil {
			return nil, fmt.Errorf("metadata %q: %w", e.Name, err)
		}
		md[e.Name] = v
	}
	return md, nil
}

// metadataString formats a metadata value, which YAML may have typed as a string, a
// number or a bool.
func metadataString(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		if v {
			return "true", nil
		}
		return "false", nil
	default:
		return "", fmt.Errorf("value must be a string, number or bool, not %T", v)
	}
}
