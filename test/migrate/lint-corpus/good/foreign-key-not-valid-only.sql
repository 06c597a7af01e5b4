-- expect: none
SET lock_timeout = '5s';
ALTER TABLE "shop"."OrderLines"
  ADD CONSTRAINT "OrderLines_Order_fkey" FOREIGN KEY ("OrderId") REFERENCES "shop"."Orders" ("Id") NOT VALID;
