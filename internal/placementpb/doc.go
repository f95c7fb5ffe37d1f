// Package placementpb holds the protocol between troupe sidecars and the placement
// service, generated from placement.proto. Regenerate with protoc and the plugins
// protoc-gen-go and protoc-gen-go-grpc on PATH:
//
//	go generate ./internal/placementpb
package placementpb

//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative placement.proto

// ProtocolVersion is the version of this protocol; Hello.protocol_version must equal it.
const ProtocolVersion = 1
