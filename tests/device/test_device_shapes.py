"""The shape checker of the NMS polling test accepts the reference captures and rejects broken replies."""

from __future__ import annotations

from junos_shapes import validate
from lxml import etree

IKE_BRIEF = """<ike-security-associations-information style="brief"><ike-security-associations><ike-sa-remote-address>5.5.5.2</ike-sa-remote-address><ike-sa-index>3922267</ike-sa-index><ike-sa-state>UP</ike-sa-state><ike-sa-initiator-cookie>95ccf59c2783de54</ike-sa-initiator-cookie><ike-sa-responder-cookie>fec2c4b00faf0495</ike-sa-responder-cookie><ike-sa-exchange-type>IKEv2</ike-sa-exchange-type></ike-security-associations></ike-security-associations-information>"""  # noqa: E501

IKE_DETAIL = """<ike-security-associations-information style="detail"><ike-security-associations-block>
<ike-sa-remote-address>5.5.5.2</ike-sa-remote-address><ike-sa-index>3922267</ike-sa-index><ike-gw-name>GW</ike-gw-name>
<ike-sa-advpn-info><ike-sa-type>static</ike-sa-type></ike-sa-advpn-info>
<ike-security-associations><ike-sa-role>responder</ike-sa-role><ike-sa-state>UP</ike-sa-state>
<ike-sa-initiator-cookie>95ccf59c2783de54</ike-sa-initiator-cookie><ike-sa-responder-cookie>fec2c4b00faf0495</ike-sa-responder-cookie>
<ike-sa-exchange-type>IKEv2</ike-sa-exchange-type><ike-sa-authentication-method>RSA-signatures</ike-sa-authentication-method>
<ike-sa-remote-address>5.5.5.2</ike-sa-remote-address><ike-sa-remote-port>500</ike-sa-remote-port>
<ike-sa-local-address>2.2.2.2</ike-sa-local-address><ike-sa-local-port>500</ike-sa-local-port>
<ike-sa-lifetime>Expires in 11242 seconds</ike-sa-lifetime><ike-sa-reauthlifetime>Disabled</ike-sa-reauthlifetime>
<ike-sa-ike-frag>Enabled</ike-sa-ike-frag><ike-sa-frag-size>576</ike-sa-frag-size>
<ike-sa-remote-client-info>Unknown Client</ike-sa-remote-client-info>
<ike-xauth-user-info><ike-ike-id>C=US</ike-ike-id><ike-xauth-username/><ike-xauth-user-assigned-ip>0.0.0.0</ike-xauth-user-assigned-ip></ike-xauth-user-info>
<ike-sa-algorithms><ike-sa-authentication-algorithm>hmac-sha1-96</ike-sa-authentication-algorithm><ike-sa-encryption-algorithm>aes256-cbc</ike-sa-encryption-algorithm><ike-sa-prf-algorithm>hmac-sha1</ike-sa-prf-algorithm><ike-sa-dhgroup>DH-group-5</ike-sa-dhgroup></ike-sa-algorithms>
<ike-sa-traffic-statistics><ike-sa-input-bytes>8860</ike-sa-input-bytes><ike-sa-output-bytes>8860</ike-sa-output-bytes><ike-sa-input-packets>37</ike-sa-input-packets><ike-sa-output-packets>37</ike-sa-output-packets><ike-sa-input-frag-packets>0</ike-sa-input-frag-packets><ike-sa-output-frag-packets>0</ike-sa-output-frag-packets></ike-sa-traffic-statistics>
<ike-sa-misc><ike-sa-num-ipsec-sas-created>36</ike-sa-num-ipsec-sas-created><ike-sa-num-ipsec-sas-deleted>0</ike-sa-num-ipsec-sas-deleted><ike-sa-num-phase2-negotiations>1</ike-sa-num-phase2-negotiations></ike-sa-misc>
</ike-security-associations></ike-security-associations-block></ike-security-associations-information>"""  # noqa: E501

IPSEC_BRIEF = """<ipsec-security-associations-information xmlns:junos="http://xml.juniper.net/junos/18.4R3/junos" junos:style="brief">
<total-active-tunnels>2</total-active-tunnels><total-ipsec-sas>4</total-ipsec-sas>
<ipsec-security-associations-block><sa-block-state>up</sa-block-state>
<ipsec-security-associations><sa-direction>&lt;</sa-direction><sa-tunnel-index>231076</sa-tunnel-index><sa-spi>bb0d675a</sa-spi><sa-aux-spi>0</sa-aux-spi><sa-remote-gateway>1.1.1.1</sa-remote-gateway><sa-port>401</sa-port><sa-vpn-monitoring-state>-</sa-vpn-monitoring-state><sa-protocol>ESP</sa-protocol><sa-esp-encryption-algorithm>3des</sa-esp-encryption-algorithm><sa-hmac-algorithm>sha256</sa-hmac-algorithm><sa-hard-lifetime>24979</sa-hard-lifetime><sa-lifesize-remaining>unlim</sa-lifesize-remaining><sa-virtual-system>root</sa-virtual-system></ipsec-security-associations>
</ipsec-security-associations-block></ipsec-security-associations-information>"""  # noqa: E501

STATS = """<usp-ipsec-total-statistics-information><esp-statistics><esp-encrypted-bytes>0</esp-encrypted-bytes><esp-decrypted-bytes>0</esp-decrypted-bytes><esp-encrypted-packets>0</esp-encrypted-packets><esp-decrypted-packets>0</esp-decrypted-packets></esp-statistics><ah-statistics><ah-input-bytes>0</ah-input-bytes><ah-output-bytes>0</ah-output-bytes><ah-input-packets>0</ah-input-packets><ah-output-packets>0</ah-output-packets></ah-statistics><error-statistics><ah-authentication-failures>0</ah-authentication-failures><replay-errors>0</replay-errors><esp-authentication-failures>0</esp-authentication-failures><esp-decryption-failures>0</esp-decryption-failures><bad-headers>0</bad-headers><bad-trailers>0</bad-trailers></error-statistics></usp-ipsec-total-statistics-information>"""  # noqa: E501


def test_device_shape_checker_accepts_the_reference_captures():
    for sample in (IKE_BRIEF, IKE_DETAIL, IPSEC_BRIEF, STATS):
        assert validate(etree.fromstring(sample)) == []


def test_device_shape_checker_rejects_broken_replies():
    swapped = IKE_BRIEF.replace("<ike-sa-index>3922267</ike-sa-index><ike-sa-state>UP</ike-sa-state>",
                                "<ike-sa-state>UP</ike-sa-state><ike-sa-index>3922267</ike-sa-index>")
    assert any("order" in p for p in validate(etree.fromstring(swapped)))
    assert any("missing <sa-spi>" in p for p in validate(etree.fromstring(
        IPSEC_BRIEF.replace("<sa-spi>bb0d675a</sa-spi>", ""))))
    assert any("sa-spi" in p for p in validate(etree.fromstring(IPSEC_BRIEF.replace("bb0d675a", "0xbb0d675a"))))
    assert any("ike-sa-lifetime" in p for p in validate(etree.fromstring(
        IKE_DETAIL.replace("Expires in 11242 seconds", "11242"))))
    assert any("unexpected <esp-bytes>" in p for p in validate(etree.fromstring(
        STATS.replace("esp-encrypted-bytes", "esp-bytes"))))
    assert any("value '-1'" in p for p in validate(etree.fromstring(
        STATS.replace("<replay-errors>0", "<replay-errors>-1"))))
