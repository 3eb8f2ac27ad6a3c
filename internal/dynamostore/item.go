package dynamostore

// Items are written and read with the SDK's feature/dynamodb/attributevalue
// at its default options, which is also how the other services that share
// the table write it (README "Data layout" gives the stored shapes;
// item_test.go checks them). The functions below are the package's one way
// in, so that every item goes through the same options.

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// MarshalItem returns the attributes of item, a struct or a pointer to one.
func MarshalItem(item any) (map[string]ddbtypes.AttributeValue, error) {
	m, err := attributevalue.MarshalMap(item)
	if err != nil {
		return nil, fmt.Errorf("marshal item: %w", err)
	}
	return m, nil
}

// marshalValue returns one attribute value.
func marshalValue(x any) (ddbtypes.AttributeValue, error) {
	av, err := attributevalue.Marshal(x)
	if err != nil {
		return nil, fmt.Errorf("marshal: %w", err)
	}
	return av, nil
}

// unmarshalItem reads item into out, a pointer to a struct. Attributes
// without a field are ignored.
func unmarshalItem(item map[string]ddbtypes.AttributeValue, out any) error {
	if err := attributevalue.UnmarshalMap(item, out); err != nil {
		return fmt.Errorf("unmarshal item: %w", err)
	}
	return nil
}

// unmarshalItems reads items into out, a pointer to a slice of structs.
func unmarshalItems(items []map[string]ddbtypes.AttributeValue, out any) error {
	if err := attributevalue.UnmarshalListOfMaps(items, out); err != nil {
		return fmt.Errorf("unmarshal items: %w", err)
	}
	return nil
}
