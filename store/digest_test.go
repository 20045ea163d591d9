package store

import "testing"

// TestDigestSeesDamageRepeatedAcrossRecords damages two records of one
// length at the same place in the same way: a plain XOR of CRCs would not
// change, the digest must.
func TestDigestSeesDamageRepeatedAcrossRecords(t *testing.T) {
	records := [][2]string{{"inst-071", `{"ID":"service:inst-071:1"}`}, {"inst-095", `{"ID":"service:inst-095:1"}`}}
	var whole, damaged digest
	for _, r := range records {
		whole.add(bucketInstances, []byte(r[0]), []byte(r[1]))
		v := []byte(r[1])
		v[8] ^= 0xd5
		damaged.add(bucketInstances, []byte(r[0]), v)
	}
	if whole == damaged {
		t.Fatal("the same damage in two records of one length left the digest unchanged")
	}
}
