"""The test set-up itself (tests/__init__.py): no AWS call can leave the machine."""

import unittest

import boto3


class OfflineTest(unittest.TestCase):
    def test_an_unstubbed_call_fails_instead_of_reaching_the_network(self):
        client = boto3.client("secretsmanager")
        with self.assertRaisesRegex(AssertionError, "tried to reach the network"):
            client.get_secret_value(SecretId="anything")

    def test_the_region_and_credentials_are_the_dummy_ones(self):
        session = boto3.Session()
        self.assertEqual(session.region_name, "us-west-1")
        self.assertEqual(session.get_credentials().access_key, "testing")


if __name__ == "__main__":
    unittest.main()
