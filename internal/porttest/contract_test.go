package porttest

import "testing"

// TestMemory_StoreContract keeps the fake honest offline; the same suite
// runs against DynamoDB in internal/dynamostore.
func TestMemory_StoreContract(t *testing.T) {
	RunStoreContract(t, func(t *testing.T) (Stores, Seeder) {
		m := NewMemory()
		return m, m
	})
}
