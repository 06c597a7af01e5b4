-- expect: add-foreign-key-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE "shop"."OrderLines"
  ADD CONSTRAINT "OrderLines_Order_fkey" FOREIGN KEY ("OrderId")
  REFERENCES "shop"."Orders" ("Id") ON DELETE CASCADE;
