-- expect: none
CREATE TABLE coupon_codes (code text, campaign_id bigint);
ALTER TABLE coupon_codes ADD CONSTRAINT coupon_codes_code_key UNIQUE (code);
ALTER TABLE coupon_codes ADD PRIMARY KEY (code, campaign_id);
