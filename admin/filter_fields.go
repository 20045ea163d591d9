package admin

// The schemas below name the selectors each endpoint's ?filter= takes,
// which are Consul's for the same endpoint; the datum builders read the
// very values the endpoint answers with.

func leaf(k fkind) *ftype { return &ftype{kind: k} }

func fobj(k fkind, fields map[string]*ftype) *ftype { return &ftype{kind: k, fields: fields} }

func weightsType() *ftype {
	return fobj(kStruct, map[string]*ftype{"Passing": leaf(kInt), "Warning": leaf(kInt)})
}

func nodeFields() map[string]*ftype {
	return map[string]*ftype{
		"ID": leaf(kString), "Node": leaf(kString), "Address": leaf(kString),
		"Datacenter": leaf(kString), "TaggedAddresses": leaf(kMap), "Meta": leaf(kMap),
	}
}

// serviceFields are the selectors of a NodeService (health/service's
// Service); an AgentService adds Datacenter.
func serviceFields() map[string]*ftype {
	return map[string]*ftype{
		"Kind": leaf(kString), "ID": leaf(kString), "Service": leaf(kString), "Tags": leaf(kList),
		"Meta": leaf(kMap), "Port": leaf(kInt), "Address": leaf(kString), "Weights": weightsType(),
		"EnableTagOverride": leaf(kBool),
	}
}

func agentServiceFields() map[string]*ftype {
	f := serviceFields()
	f["Datacenter"] = leaf(kString)
	return f
}

func checkFields() map[string]*ftype {
	return map[string]*ftype{
		"Node": leaf(kString), "CheckID": leaf(kString), "Name": leaf(kString),
		"Status": leaf(kString), "Notes": leaf(kString), "Output": leaf(kString),
		"ServiceID": leaf(kString), "ServiceName": leaf(kString), "ServiceTags": leaf(kList),
		"Type": leaf(kString),
	}
}

var (
	// nodeSchema: catalog/nodes.
	nodeSchema = fobj(kStruct, nodeFields())
	// agentServiceSchema: agent/services.
	agentServiceSchema = fobj(kStruct, agentServiceFields())
	// nodeServiceSchema: the services of catalog/node/:node.
	nodeServiceSchema = fobj(kStruct, serviceFields())
	// memberSchema: agent/members.
	memberSchema = fobj(kStruct, map[string]*ftype{
		"Name": leaf(kString), "Addr": leaf(kString), "Port": leaf(kInt), "Tags": leaf(kMap), "Status": leaf(kInt),
	})
	// checkSchema: agent/checks, health/checks/:name, health/state/:state,
	// health/node/:node.
	checkSchema = fobj(kStruct, checkFields())
	// serviceNodeSchema: catalog/service/:name and catalog/services.
	serviceNodeSchema = fobj(kStruct, map[string]*ftype{
		"ID": leaf(kString), "Node": leaf(kString), "Address": leaf(kString),
		"Datacenter": leaf(kString), "TaggedAddresses": leaf(kMap), "NodeMeta": leaf(kMap),
		"ServiceKind": leaf(kString), "ServiceID": leaf(kString), "ServiceName": leaf(kString),
		"ServiceTags": leaf(kList), "ServiceAddress": leaf(kString), "ServiceMeta": leaf(kMap),
		"ServicePort": leaf(kInt), "ServiceWeights": weightsType(),
		"ServiceEnableTagOverride": leaf(kBool),
	})
	// entrySchema: health/service/:name.
	entrySchema = fobj(kStruct, map[string]*ftype{
		"Node":    fobj(kStruct, nodeFields()),
		"Service": fobj(kStruct, serviceFields()),
		"Checks":  fobj(kStructs, checkFields()),
	})
)

func weightsDatum(w weightsJSON) datum {
	return datum{"Passing": w.Passing, "Warning": w.Warning}
}

func nodeDatum(n nodeJSON) datum {
	return datum{"ID": n.ID, "Node": n.Node, "Address": n.Address, "Datacenter": n.Datacenter,
		"TaggedAddresses": n.TaggedAddresses, "Meta": n.Meta}
}

func serviceDatum(s serviceJSON) datum {
	return datum{"Kind": "", "ID": s.ID, "Service": s.Service, "Tags": s.Tags, "Meta": s.Meta,
		"Port": s.Port, "Address": s.Address, "Weights": weightsDatum(s.Weights),
		"EnableTagOverride": s.EnableTagOverride}
}

func agentServiceDatum(s agentServiceJSON) datum {
	d := serviceDatum(s.serviceJSON)
	d["Datacenter"] = s.Datacenter
	return d
}

func memberDatum(m memberJSON) datum {
	return datum{"Name": m.Name, "Addr": m.Addr, "Port": int(m.Port), "Tags": m.Tags, "Status": m.Status}
}

func checkDatum(c checkJSON) datum {
	return datum{"Node": c.Node, "CheckID": c.CheckID, "Name": c.Name, "Status": c.Status,
		"Notes": c.Notes, "Output": c.Output, "ServiceID": c.ServiceID, "ServiceName": c.ServiceName,
		"ServiceTags": c.ServiceTags, "Type": c.Type}
}

func serviceNodeDatum(c catalogServiceJSON) datum {
	return datum{"ID": c.ID, "Node": c.Node, "Address": c.Address, "Datacenter": c.Datacenter,
		"TaggedAddresses": c.TaggedAddresses, "NodeMeta": c.NodeMeta, "ServiceKind": c.ServiceKind,
		"ServiceID": c.ServiceID, "ServiceName": c.ServiceName, "ServiceTags": c.ServiceTags,
		"ServiceAddress": c.ServiceAddress, "ServiceMeta": c.ServiceMeta, "ServicePort": c.ServicePort,
		"ServiceWeights": weightsDatum(c.ServiceWeights), "ServiceEnableTagOverride": c.ServiceEnableTagOverride}
}

func entryDatum(e serviceEntryJSON) datum {
	checks := make([]datum, 0, len(e.Checks))
	for _, c := range e.Checks {
		checks = append(checks, checkDatum(c))
	}
	return datum{"Node": nodeDatum(e.Node), "Service": serviceDatum(e.Service.serviceJSON), "Checks": checks}
}
