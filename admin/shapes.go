package admin

// The types below are Consul's JSON shapes, field for field as its agent
// sends them and its Go client (github.com/hashicorp/consul/api) decodes
// them. Slices and maps are never null: Consul sends [] and {}.

// nodeJSON is Consul's structs.Node.
type nodeJSON struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	CreateIndex     uint64
	ModifyIndex     uint64
}

type weightsJSON struct {
	Passing int
	Warning int
}

// serviceAddressJSON is Consul's structs.ServiceAddress, the value of a
// service's tagged addresses.
type serviceAddressJSON struct {
	Address string
	Port    int
}

// localityJSON is Consul's api.Locality.
type localityJSON struct {
	Region string
	Zone   string
}

// proxyJSON is the ConnectProxyConfig of a typical service: every field
// empty, which Consul still sends (Mode, and the structs it does not omit).
type proxyJSON struct {
	Mode        string
	MeshGateway struct{}
	Expose      struct{}
}

// serviceJSON holds the fields Consul's AgentService and NodeService share;
// the two types below embed it, so JSON sees its fields at the top level.
type serviceJSON struct {
	ID                string
	Service           string
	Tags              []string
	Meta              map[string]string
	Port              int
	Address           string
	TaggedAddresses   map[string]serviceAddressJSON `json:",omitempty"`
	Weights           weightsJSON
	EnableTagOverride bool
	Locality          *localityJSON `json:",omitempty"`
	CreateIndex       uint64
	ModifyIndex       uint64
}

// agentServiceJSON is Consul's api.AgentService, which the agent
// endpoints answer with (agent_endpoint.go buildAgentService).
type agentServiceJSON struct {
	serviceJSON
	ContentHash string `json:",omitempty"`
	Datacenter  string
}

// nodeServiceJSON is Consul's structs.NodeService, the Service of a
// health/service entry: no Datacenter, but Proxy and Connect.
type nodeServiceJSON struct {
	serviceJSON
	Proxy   proxyJSON
	Connect struct{}
}

// catalogServiceJSON is Consul's structs.ServiceNode (catalog/service).
type catalogServiceJSON struct {
	ID                       string
	Node                     string
	Address                  string
	Datacenter               string
	TaggedAddresses          map[string]string
	NodeMeta                 map[string]string
	ServiceKind              string
	ServiceID                string
	ServiceName              string
	ServiceTags              []string
	ServiceAddress           string
	ServiceTaggedAddresses   map[string]serviceAddressJSON `json:",omitempty"`
	ServiceWeights           weightsJSON
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceEnableTagOverride bool
	ServiceProxy             proxyJSON
	ServiceConnect           struct{}
	ServiceLocality          *localityJSON `json:",omitempty"`
	CreateIndex              uint64
	ModifyIndex              uint64
}

// checkJSON is Consul's structs.HealthCheck, which agent/checks also
// answers with.
type checkJSON struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
	Interval    string
	Timeout     string
	ExposedPort int
	Definition  definitionJSON
	CreateIndex uint64
	ModifyIndex uint64
}

// definitionJSON is Consul's HealthCheckDefinition; durations are Go
// duration strings ("10s"), as its MarshalJSON sends them.
type definitionJSON struct {
	HTTP                           string              `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	TTL                            string              `json:",omitempty"`
	Interval                       string              `json:",omitempty"`
	Timeout                        string              `json:",omitempty"`
	DeregisterCriticalServiceAfter string              `json:",omitempty"`
}

// serviceEntryJSON is one entry of health/service/:name (structs.CheckServiceNode).
type serviceEntryJSON struct {
	Node    nodeJSON
	Service nodeServiceJSON
	Checks  []checkJSON
}
