package deploytest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// noValue marks what AWS::NoValue removes.
type noValue struct{}

// deployment resolves a template's intrinsic functions as CloudFormation
// does for one stack, except that references stay symbolic (see
// samTemplate).
type deployment struct {
	parameters map[string]any // parameter name -> value
	conditions map[string]any // condition name -> its expression, as written
	evaluated  map[string]bool
	evaluating map[string]bool
}

// deployedJSON returns the template data (YAML) as deployed with the given
// parameter values, the others at their Default: Ref, Fn::GetAtt, Fn::Sub,
// Fn::If and the condition functions resolved, AWS::NoValue applied, and
// every resource whose Condition is false left out. A parameter without a
// Default or value, an unknown condition or a malformed function is an
// error.
func deployedJSON(data []byte, values map[string]string) ([]byte, error) {
	raw, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, err
	}
	var tpl map[string]any
	if err := json.Unmarshal(raw, &tpl); err != nil {
		return nil, err
	}
	d := &deployment{parameters: map[string]any{}, evaluated: map[string]bool{}, evaluating: map[string]bool{}}
	params, _ := tpl["Parameters"].(map[string]any)
	for name, p := range params {
		if v, ok := values[name]; ok {
			d.parameters[name] = v
		} else if def := lookup(p, "Default"); def != nil {
			d.parameters[name] = def
		}
	}
	for name := range values {
		if _, ok := params[name]; !ok {
			return nil, fmt.Errorf("no parameter %s", name)
		}
	}
	d.conditions, _ = tpl["Conditions"].(map[string]any)

	resources, _ := tpl["Resources"].(map[string]any)
	kept := map[string]any{}
	for name, r := range resources {
		if c, ok := lookup(r, "Condition").(string); ok {
			on, err := d.condition(c)
			if err != nil {
				return nil, fmt.Errorf("resource %s: %w", name, err)
			}
			if !on {
				continue
			}
		}
		v, err := d.resolve(r)
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", name, err)
		}
		kept[name] = v
	}
	tpl["Resources"] = kept
	for _, section := range []string{"Outputs", "Metadata"} {
		if s, ok := tpl[section]; ok {
			v, err := d.resolve(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", section, err)
			}
			tpl[section] = v
		}
	}
	delete(tpl, "Conditions")
	return json.Marshal(tpl)
}

// condition evaluates the named condition.
func (d *deployment) condition(name string) (bool, error) {
	if v, ok := d.evaluated[name]; ok {
		return v, nil
	}
	expr, ok := d.conditions[name]
	if !ok {
		return false, fmt.Errorf("no condition %s", name)
	}
	if d.evaluating[name] {
		return false, fmt.Errorf("condition %s refers to itself", name)
	}
	d.evaluating[name] = true
	v, err := d.resolve(expr)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is %v, not a boolean", name, v)
	}
	d.evaluated[name] = b
	return b, nil
}

// resolve resolves the intrinsic functions in v. The result is noValue{}
// where AWS::NoValue removes v.
func (d *deployment) resolve(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			r, err := d.resolve(e)
			if err != nil {
				return nil, err
			}
			if _, removed := r.(noValue); !removed {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 {
			for fn, arg := range v {
				if r, ok, err := d.function(fn, arg); ok || err != nil {
					return r, err
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			r, err := d.resolve(e)
			if err != nil {
				return nil, err
			}
			if _, removed := r.(noValue); !removed {
				out[k] = r
			}
		}
		return out, nil
	}
	return v, nil
}

// function resolves the intrinsic function fn applied to arg; ok is false
// when fn is not one (a plain one-key object).
func (d *deployment) function(fn string, arg any) (v any, ok bool, err error) {
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		switch p, isParam := d.parameters[name]; {
		case name == "AWS::NoValue":
			return noValue{}, true, nil
		case isParam:
			return p, true, nil
		case name == "":
			return nil, true, fmt.Errorf("Ref %v", arg)
		}
		return "ref:" + name, true, nil
	case "Fn::GetAtt":
		return getAttHandler(fn, arg, nil), true, nil
	case "Fn::Sub":
		return subHandler(fn, arg, nil), true, nil
	case "Condition":
		name, _ := arg.(string)
		b, err := d.condition(name)
		return b, true, err
	case "Fn::If":
		args, _ := arg.([]any)
		if len(args) != 3 {
			return nil, true, fmt.Errorf("Fn::If %v: want [condition, then, else]", arg)
		}
		name, _ := args[0].(string)
		on, err := d.condition(name)
		if err != nil {
			return nil, true, err
		}
		if on {
			v, err = d.resolve(args[1])
		} else {
			v, err = d.resolve(args[2])
		}
		return v, true, err
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		r, err := d.resolve(arg)
		if err != nil {
			return nil, true, err
		}
		args, _ := r.([]any)
		if fn == "Fn::Equals" {
			if len(args) != 2 {
				return nil, true, fmt.Errorf("Fn::Equals %v: want two values", arg)
			}
			return reflect.DeepEqual(scalar(args[0]), scalar(args[1])), true, nil
		}
		var bs []bool
		for _, a := range args {
			b, isBool := a.(bool)
			if !isBool {
				return nil, true, fmt.Errorf("%s %v: %v is not a condition", fn, arg, a)
			}
			bs = append(bs, b)
		}
		switch {
		case fn == "Fn::Not" && len(bs) == 1:
			return !bs[0], true, nil
		case fn == "Fn::And" && len(bs) >= 2:
			return !slices.Contains(bs, false), true, nil
		case fn == "Fn::Or" && len(bs) >= 2:
			return slices.Contains(bs, true), true, nil
		}
		return nil, true, fmt.Errorf("%s %v: wrong number of conditions", fn, arg)
	}
	if strings.HasPrefix(fn, "Fn::") {
		return nil, true, fmt.Errorf("%s is not resolved by these tests", fn)
	}
	return nil, false, nil
}

// scalar compares as CloudFormation does: every scalar as a string.
func scalar(v any) any {
	switch v.(type) {
	case string, float64, bool:
		return fmt.Sprint(v)
	}
	return v
}
