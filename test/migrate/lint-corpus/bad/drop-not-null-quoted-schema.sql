-- expect: drop-not-null
SET lock_timeout = '5s';
ALTER TABLE "Logistics"."Parcels" ALTER "WeightGrams" DROP NOT NULL;
