// Package apigwtest holds what the functions' tests share.
//
// For the HTTP API functions: Call and CallJSON invoke a handler and check
// what every response must satisfy, StrictDecode reads a response body
// into its exact type, and CheckError checks an error response.
//
// For every function, API or scheduled: EventFiles, ReadEvent and
// DecodeEvent load the sample events of events/<function>-*.json into the
// function's own input type, strictly; EachEvent runs a table of
// expectations over them; and CheckRequest checks that a sample API event
// is what API Gateway sends on one of the function's routes, from the
// caller its name gives.
package apigwtest
