package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Change is one setting that differs between two loads of canaryflow.yaml,
// as `canaryflow up` reports it when SIGHUP makes it read the file again.
type Change struct {
	// Key is the setting's YAML path, such as service.listeners.production_port.
	Key string
	// Old and New are its values as a person reads them; "(unset)" when
	// one side has none.
	Old, New string
	// Live is true for a setting the running daemon applies at once;
	// false for one that takes effect only when canaryflow up restarts.
	Live bool
}

// String says it: "service.listeners.production_port changed 8080 → 8081".
func (c Change) String() string {
	return fmt.Sprintf("%s changed %s → %s", c.Key, c.Old, c.New)
}

// liveService are the service settings a running daemon applies when
// canaryflow.yaml is read again: what the next deployment by hand is made
// of. Everything else the daemon uses (name, listeners, health check, pin
// header, runtime, registry, release and pipeline sections) is built into
// running parts and waits for a restart. The aws section is not the
// daemon's and is not reported.
var liveService = []struct {
	key   string
	apply func(dst, src *Service)
}{
	{"service.container", func(d, s *Service) { d.Container = s.Container }},
	{"service.desired_count", func(d, s *Service) { d.DesiredCount = s.DesiredCount }},
	{"service.env", func(d, s *Service) { d.Env = s.Env }},
	{"service.deployment_config", func(d, s *Service) { d.DeploymentConfig = s.DeploymentConfig }},
	{"service.ready", func(d, s *Service) { d.Ready = s.Ready }},
	{"service.termination_wait", func(d, s *Service) { d.TerminationWait = s.TerminationWait }},
	{"service.alarms", func(d, s *Service) { d.Alarms = s.Alarms }},
	{"service.auto_rollback", func(d, s *Service) { d.AutoRollback = s.AutoRollback }},
	{"service.hooks", func(d, s *Service) { d.Hooks = s.Hooks }},
	{AllowedRegistriesKey, func(d, s *Service) { d.AllowedRegistries = s.AllowedRegistries }},
}

func isLive(key string) bool {
	for _, l := range liveService {
		if key == l.key || strings.HasPrefix(key, l.key+".") {
			return true
		}
	}
	return false
}

// Reload is what a running daemon does with next, canaryflow.yaml read
// again, when it runs with cur: it returns the configuration in force
// afterwards (cur with next's live settings) and every setting that
// differs, each marked live or needing a restart, sorted by key. cur and
// next are not modified. A next without a service section changes
// nothing live.
func Reload(cur, next *Config) (*Config, []Change) {
	changes := Changes(cur, next)
	out := *cur
	if cur.Service != nil && next.Service != nil {
		svc := *cur.Service
		for _, l := range liveService {
			l.apply(&svc, next.Service)
		}
		out.Service = &svc
	}
	if next.Service == nil {
		for i := range changes {
			changes[i].Live = false
		}
	}
	return &out, changes
}

// Changes lists every setting that differs from a to b, sorted by key,
// marked Live as Reload applies them. The aws section is left out.
func Changes(a, b *Config) []Change {
	av, bv := map[string]string{}, map[string]string{}
	for _, s := range []struct {
		key  string
		a, b any
	}{{"service", a.Service, b.Service}, {"release", a.Release, b.Release}, {"pipeline", a.Pipeline, b.Pipeline},
		{"notifications", a.Notifications, b.Notifications}} {
		flatten(s.key, reflect.ValueOf(s.a), av)
		flatten(s.key, reflect.ValueOf(s.b), bv)
	}
	var out []Change
	for k, v := range av {
		if w, ok := bv[k]; !ok || w != v {
			out = append(out, Change{Key: k, Old: v, New: orUnset(w, ok), Live: isLive(k)})
		}
	}
	for k, w := range bv {
		if _, ok := av[k]; !ok {
			out = append(out, Change{Key: k, Old: "(unset)", New: w, Live: isLive(k)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func orUnset(v string, ok bool) string {
	if !ok {
		return "(unset)"
	}
	return v
}

var (
	durationType         = reflect.TypeFor[Duration]()
	deploymentConfigType = reflect.TypeFor[DeploymentConfig]()
)

// flatten writes every leaf setting under key into out, keyed by its YAML
// path, its value as a person reads it. An empty string is left out, so
// it reads as "(unset)".
func flatten(key string, v reflect.Value, out map[string]string) {
	if v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch {
	case v.Type() == durationType:
		out[key] = Duration(v.Int()).D().String()
		return
	case v.Type() == deploymentConfigType:
		dc := v.Interface().(DeploymentConfig)
		out[key] = dc.Name
		if dc.Name == "" {
			out[key] = dc.Routing.String()
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			flatten(key+"."+name, v.Field(i), out)
		}
	case reflect.Map:
		keys := v.MapKeys()
		for _, k := range keys {
			flatten(key+"."+fmt.Sprint(k.Interface()), v.MapIndex(k), out)
		}
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = fmt.Sprint(v.Index(i).Interface())
		}
		out[key] = "[" + strings.Join(parts, ", ") + "]"
	case reflect.String:
		if v.String() != "" { // an empty string is no setting
			out[key] = v.String()
		}
	default:
		out[key] = fmt.Sprint(v.Interface())
	}
}
