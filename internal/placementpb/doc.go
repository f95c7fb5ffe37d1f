// Package placementpb holds the protocol between troupe sidecars and the placement
// service, generated from placement.proto. Regenerate with protoc and the plugins
// protoc-gen-go and protoc-gen-go-grpc on PATH:
//
//	go generate ./internal/placementpb
package placementpb

//go:generate protoc --go_out=paths=source_relative:. --go-grpc_out=paths=source_relative:. placement.proto

// ProtocolVersion is the version of this protocol; Hello.protocol_version must equal it.
const ProtocolVersion = 1
